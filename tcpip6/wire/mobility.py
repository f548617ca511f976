"""Mobile IPv6 (RFC 6275): the Mobility Header, its messages and options, and the Home
Address destination option.

The Mobility Header (RFC 6275 §6.1.1, Next Header value 135)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    | Payload Proto |  Header Len   |   MH Type     |   Reserved    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |           Checksum            |                               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
    .                       Message Data                            .
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Header Len counts 8-octet units after the first 8 octets. The checksum covers the IPv6
pseudo-header (RFC 8200 §8.1, Next Header 135) and the whole Mobility Header; it is not a
field: computed on emit, verified on parse (``src``/``dst`` are the pseudo-header's).

Message Data is a fixed part per MH Type (RFC 6275 §6.1.2-§6.1.9) and then mobility
options (RFC 6275 §6.2), each a type, a length and data (Pad1 is the single octet 0). Options are
kept as sent, padding included, so ``parse(m.build(s, d), s, d) == m``;
:func:`align_options` adds the padding of RFC 6275 §6.2 (alignment ``xn+y`` per option, the
whole header a multiple of 8 octets).

The Home Address option (RFC 6275 §6.3) is a Destination Options option, type 201, 16
octets of data, aligned 8n+6; :func:`home_address_option` makes one for ``ext``'s
headers and :func:`parse_home_address_option` reads one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, fields
from ipaddress import IPv6Address
from typing import ClassVar, Self

from tcpip6.wire import ext, nd
from tcpip6.wire.checksum import upper_layer_checksum
from tcpip6.wire.errors import ChecksumError, WireError
from tcpip6.wire.ipv6 import IPPROTO_NONE

IPPROTO_MH = 135  # RFC 6275 §6.1.1 (IANA)

# RFC 6275 §6.1.1: MH Type values.
MH_BRR = 0  # Binding Refresh Request, RFC 6275 §6.1.2
MH_HOTI = 1  # Home Test Init, RFC 6275 §6.1.3
MH_COTI = 2  # Care-of Test Init, RFC 6275 §6.1.4
MH_HOT = 3  # Home Test, RFC 6275 §6.1.5
MH_COT = 4  # Care-of Test, RFC 6275 §6.1.6
MH_BU = 5  # Binding Update, RFC 6275 §6.1.7
MH_BA = 6  # Binding Acknowledgement, RFC 6275 §6.1.8
MH_BE = 7  # Binding Error, RFC 6275 §6.1.9

# RFC 6275 §6.2: mobility option types.
MOPT_PAD1 = 0
MOPT_PADN = 1
MOPT_BINDING_REFRESH_ADVICE = 2  # RFC 6275 §6.2.4, alignment 2n
MOPT_ALTERNATE_COA = 3  # RFC 6275 §6.2.5, alignment 8n+6
MOPT_NONCE_INDICES = 4  # RFC 6275 §6.2.6, alignment 2n
MOPT_BINDING_AUTH_DATA = 5  # RFC 6275 §6.2.7, alignment 8n+2

# RFC 6275 §6.1.8: Binding Acknowledgement status codes.
BA_ACCEPTED = 0
BA_ACCEPTED_PREFIX_DISCOVERY = 1
BA_REASON_UNSPECIFIED = 128
BA_ADMINISTRATIVELY_PROHIBITED = 129
BA_INSUFFICIENT_RESOURCES = 130
BA_HOME_REGISTRATION_NOT_SUPPORTED = 131
BA_NOT_HOME_SUBNET = 132
BA_NOT_HOME_AGENT_FOR_THIS_MN = 133
BA_DAD_FAILED = 134
BA_SEQUENCE_NUMBER_OUT_OF_WINDOW = 135
BA_EXPIRED_HOME_NONCE_INDEX = 136
BA_EXPIRED_CARE_OF_NONCE_INDEX = 137
BA_EXPIRED_NONCES = 138
BA_REGISTRATION_TYPE_CHANGE_DISALLOWED = 139

# RFC 6275 §6.1.9: Binding Error status codes.
BE_UNKNOWN_BINDING_FOR_HAO = 1
BE_UNRECOGNIZED_MH_TYPE = 2

# RFC 6275 §6.3: the Home Address destination option.
HOME_ADDRESS_OPTION = 0xC9

UNSPECIFIED = IPv6Address(0)

#: RFC 6275 §5.2.6: the Authenticator of the Binding Authorization Data option is
#: First(96, HMAC_SHA1(Kbm, ...)).
AUTHENTICATOR_LEN = 12

HEADER_LEN = 6  # Payload Proto, Header Len, MH Type, Reserved, Checksum
_HEADER = struct.Struct("!BBBBH")
_H = struct.Struct("!H")
_HH = struct.Struct("!HH")
_HHH = struct.Struct("!HHH")
_BA = struct.Struct("!BBHH")
_BE = struct.Struct("!BB16s")
_INIT = struct.Struct("!H8s")
_TEST = struct.Struct("!H8s8s")

#: RFC 6275 §6.2: each option's alignment requirement ``xn+y`` as (x, y).
ALIGNMENT: dict[int, tuple[int, int]] = {
    MOPT_BINDING_REFRESH_ADVICE: (2, 0),
    MOPT_ALTERNATE_COA: (8, 6),
    MOPT_NONCE_INDICES: (2, 0),
    MOPT_BINDING_AUTH_DATA: (8, 2),
}


# -- mobility options (RFC 6275 §6.2) ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class MhPad1:
    """RFC 6275 §6.2.2: one octet of padding."""

    type: ClassVar[int] = MOPT_PAD1

    def buffer_len(self) -> int:
        return 1

    def encode(self) -> bytes:
        return b"\x00"


@dataclass(frozen=True, slots=True)
class MhPadN:
    """RFC 6275 §6.2.3: two or more octets of padding (zeros when sent, kept as received)."""

    data: bytes = b""

    type: ClassVar[int] = MOPT_PADN

    def buffer_len(self) -> int:
        return 2 + len(self.data)

    def encode(self) -> bytes:
        return _tlv(MOPT_PADN, self.data)


@dataclass(frozen=True, slots=True)
class BindingRefreshAdvice:
    """RFC 6275 §6.2.4: the interval, in units of 4 seconds, after which the mobile node
    should refresh its binding (only in a Binding Acknowledgement)."""

    refresh_interval: int

    type: ClassVar[int] = MOPT_BINDING_REFRESH_ADVICE

    def buffer_len(self) -> int:
        return 4

    def encode(self) -> bytes:
        return _tlv(self.type, _H.pack(self.refresh_interval))


@dataclass(frozen=True, slots=True)
class AlternateCareOfAddress:
    """RFC 6275 §6.2.5: the care-of address for the binding, when it is not the source."""

    address: IPv6Address

    type: ClassVar[int] = MOPT_ALTERNATE_COA

    def buffer_len(self) -> int:
        return 18

    def encode(self) -> bytes:
        return _tlv(self.type, self.address.packed)


@dataclass(frozen=True, slots=True)
class NonceIndices:
    """RFC 6275 §6.2.6: which home and care-of nonces the Binding Update's key used."""

    home_nonce_index: int
    care_of_nonce_index: int

    type: ClassVar[int] = MOPT_NONCE_INDICES

    def buffer_len(self) -> int:
        return 6

    def encode(self) -> bytes:
        return _tlv(self.type, _HH.pack(self.home_nonce_index, self.care_of_nonce_index))


@dataclass(frozen=True, slots=True)
class BindingAuthorizationData:
    """RFC 6275 §6.2.7: the Authenticator (96 bits for return routability, RFC 6275 §5.2.6).
    It must be the last option of its message (the stack checks)."""

    authenticator: bytes

    type: ClassVar[int] = MOPT_BINDING_AUTH_DATA

    def buffer_len(self) -> int:
        return 2 + len(self.authenticator)

    def encode(self) -> bytes:
        return _tlv(self.type, self.authenticator)


@dataclass(frozen=True, slots=True)
class MobilityOption:
    """A mobility option this module does not know (RFC 6275 §6.2.1: skipped by a
    receiver), kept as its type and data."""

    type: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if self.type in _OPTION_PARSERS or self.type in (MOPT_PAD1, MOPT_PADN):
            raise ValueError(f"mobility option type {self.type} has its own class")

    def buffer_len(self) -> int:
        return 2 + len(self.data)

    def encode(self) -> bytes:
        return _tlv(self.type, self.data)


MhOption = (
    MhPad1
    | MhPadN
    | BindingRefreshAdvice
    | AlternateCareOfAddress
    | NonceIndices
    | BindingAuthorizationData
    | MobilityOption
)


def _tlv(otype: int, data: bytes) -> bytes:
    if not 0 <= otype <= 0xFF or len(data) > 0xFF:
        raise ValueError(f"mobility option {otype}: bad type or more than 255 octets")
    return bytes((otype, len(data))) + data


def _fixed(cls_name: str, data: bytes, size: int) -> bytes:
    if len(data) != size:
        raise WireError(f"{cls_name}: {len(data)} octets of data, must be {size}")
    return data


def _parse_bra(d: bytes) -> MhOption:
    return BindingRefreshAdvice(_H.unpack(_fixed("binding refresh advice", d, 2))[0])


def _parse_acoa(d: bytes) -> MhOption:
    return AlternateCareOfAddress(IPv6Address(_fixed("alternate care-of address", d, 16)))


def _parse_nonces(d: bytes) -> MhOption:
    return NonceIndices(*_HH.unpack(_fixed("nonce indices", d, 4)))


def _parse_auth(d: bytes) -> MhOption:
    return BindingAuthorizationData(d)


_OPTION_PARSERS = {
    MOPT_BINDING_REFRESH_ADVICE: _parse_bra,
    MOPT_ALTERNATE_COA: _parse_acoa,
    MOPT_NONCE_INDICES: _parse_nonces,
    MOPT_BINDING_AUTH_DATA: _parse_auth,
}


def parse_mobility_options(buf: bytes | bytearray | memoryview) -> tuple[MhOption, ...]:
    """The mobility options area (RFC 6275 §6.2.1), in order. A known option with the
    wrong length is malformed (RFC 6275 §6.2.1: "the length of the option ... is checked")."""
    out: list[MhOption] = []
    off, end = 0, len(buf)
    while off < end:
        otype = buf[off]
        if otype == MOPT_PAD1:
            out.append(MhPad1())
            off += 1
            continue
        if off + 2 > end:
            raise WireError(f"mobility option {otype}: no room for its length octet")
        data_end = off + 2 + buf[off + 1]
        if data_end > end:
            raise WireError(f"mobility option {otype}: data runs past the header")
        data = bytes(buf[off + 2 : data_end])
        parser = _OPTION_PARSERS.get(otype)
        if otype == MOPT_PADN:
            out.append(MhPadN(data))
        elif parser is not None:
            out.append(parser(data))
        else:
            out.append(MobilityOption(otype, data))
        off = data_end
    return tuple(out)


def _pad(n: int) -> tuple[MhOption, ...]:
    if n == 0:
        return ()
    return (MhPad1(),) if n == 1 else (MhPadN(b"\x00" * (n - 2)),)


def align_options(options: tuple[MhOption, ...], start: int) -> tuple[MhOption, ...]:
    """RFC 6275 §6.2: padding before each option so that it starts at its ``xn+y`` offset
    (counted from the start of the Mobility Header; ``start`` is where the options begin),
    and after the last one so that the header is a multiple of 8 octets."""
    out: list[MhOption] = []
    pos = start
    for opt in options:
        x, y = ALIGNMENT.get(opt.type, (1, 0))
        gap = (y - pos) % x
        out.extend(_pad(gap))
        out.append(opt)
        pos += gap + opt.buffer_len()
    out.extend(_pad(-pos % 8))
    return tuple(out)


# -- messages (RFC 6275 §6.1.2 to RFC 6275 §6.1.9) ----------------------------------------------
@dataclass(frozen=True, slots=True)
class BindingRefreshRequest:
    """RFC 6275 §6.1.2: a correspondent asks the mobile node to refresh its binding."""

    reserved: int = 0

    MH_TYPE: ClassVar[int] = MH_BRR
    FIXED_LEN: ClassVar[int] = 2

    def encode(self) -> bytes:
        return _H.pack(self.reserved)

    @classmethod
    def decode(cls, d: bytes) -> BindingRefreshRequest:
        return cls(_H.unpack(d)[0])


@dataclass(frozen=True, slots=True)
class _TestInit:
    """The two Test Init messages of return routability (RFC 6275 §6.1.3, RFC 6275 §6.1.4)
    share one layout: 16 bits Reserved, then a 64-bit init cookie. A subclass declares its
    fields in the order (cookie, reserved) with the RFC's names, and its MH Type."""

    MH_TYPE: ClassVar[int]
    FIXED_LEN: ClassVar[int] = 10

    def encode(self) -> bytes:
        cookie, reserved = (getattr(self, f.name) for f in fields(self))
        return _INIT.pack(reserved, _cookie(cookie))

    @classmethod
    def decode(cls, d: bytes) -> Self:
        # The wire holds (reserved, cookie); the fields are declared (cookie, reserved).
        return cls(*reversed(_INIT.unpack(d)))


@dataclass(frozen=True, slots=True)
class HomeTestInit(_TestInit):
    """RFC 6275 §6.1.3: return routability through the home agent; a 64-bit cookie."""

    home_init_cookie: bytes
    reserved: int = 0

    MH_TYPE: ClassVar[int] = MH_HOTI


@dataclass(frozen=True, slots=True)
class CareOfTestInit(_TestInit):
    """RFC 6275 §6.1.4: return routability directly from the care-of address."""

    care_of_init_cookie: bytes
    reserved: int = 0

    MH_TYPE: ClassVar[int] = MH_COTI


@dataclass(frozen=True, slots=True)
class _Test:
    """The two Test messages (RFC 6275 §6.1.5, RFC 6275 §6.1.6) share one layout: a 16-bit
    nonce index, the 64-bit init cookie sent back, a 64-bit keygen token. A subclass
    declares its fields in that order with the RFC's names, and its MH Type."""

    MH_TYPE: ClassVar[int]
    FIXED_LEN: ClassVar[int] = 18

    def encode(self) -> bytes:
        index, cookie, token = (getattr(self, f.name) for f in fields(self))
        return _TEST.pack(index, _cookie(cookie), _cookie(token))

    @classmethod
    def decode(cls, d: bytes) -> Self:
        return cls(*_TEST.unpack(d))


@dataclass(frozen=True, slots=True)
class HomeTest(_Test):
    """RFC 6275 §6.1.5: the answer to a Home Test Init: the cookie back, the home nonce
    index and the home keygen token (64 bits)."""

    home_nonce_index: int
    home_init_cookie: bytes
    home_keygen_token: bytes

    MH_TYPE: ClassVar[int] = MH_HOT


@dataclass(frozen=True, slots=True)
class CareOfTest(_Test):
    """RFC 6275 §6.1.6: the answer to a Care-of Test Init."""

    care_of_nonce_index: int
    care_of_init_cookie: bytes
    care_of_keygen_token: bytes

    MH_TYPE: ClassVar[int] = MH_COT


# RFC 6275 §6.1.7: the flags of a Binding Update, high bits of the 16-bit word.
BU_FLAG_A = 0x8000  # Acknowledge
BU_FLAG_H = 0x4000  # Home Registration
BU_FLAG_L = 0x2000  # Link-Local Address Compatibility
BU_FLAG_K = 0x1000  # Key Management Mobility Capability


@dataclass(frozen=True, slots=True)
class BindingUpdate:
    """RFC 6275 §6.1.7. ``lifetime`` is in units of 4 seconds (0: delete the binding);
    ``reserved`` is the 12 bits after the flags, kept as received."""

    sequence: int
    lifetime: int
    a: bool = False
    h: bool = False
    l: bool = False  # noqa: E741 - the RFC's name for the flag
    k: bool = False
    reserved: int = 0

    MH_TYPE: ClassVar[int] = MH_BU
    FIXED_LEN: ClassVar[int] = 6

    def encode(self) -> bytes:
        if not 0 <= self.reserved <= 0xFFF:
            raise ValueError("binding update: reserved is 12 bits")
        word = (
            (BU_FLAG_A if self.a else 0)
            | (BU_FLAG_H if self.h else 0)
            | (BU_FLAG_L if self.l else 0)
            | (BU_FLAG_K if self.k else 0)
            | self.reserved
        )
        return _HHH.pack(self.sequence, word, self.lifetime)

    @classmethod
    def decode(cls, d: bytes) -> BindingUpdate:
        seq, word, lifetime = _HHH.unpack(d)
        return cls(
            seq,
            lifetime,
            bool(word & BU_FLAG_A),
            bool(word & BU_FLAG_H),
            bool(word & BU_FLAG_L),
            bool(word & BU_FLAG_K),
            word & 0xFFF,
        )


@dataclass(frozen=True, slots=True)
class BindingAcknowledgement:
    """RFC 6275 §6.1.8. ``lifetime`` in units of 4 seconds; ``reserved`` is the 7 bits
    after the K flag."""

    status: int
    sequence: int
    lifetime: int
    k: bool = False
    reserved: int = 0

    MH_TYPE: ClassVar[int] = MH_BA
    FIXED_LEN: ClassVar[int] = 6

    @property
    def accepted(self) -> bool:
        """RFC 6275 §6.1.8: status values below 128 mean the Binding Update was accepted."""
        return self.status < 128

    def encode(self) -> bytes:
        if not 0 <= self.reserved <= 0x7F:
            raise ValueError("binding acknowledgement: reserved is 7 bits")
        flags = (0x80 if self.k else 0) | self.reserved
        return _BA.pack(self.status, flags, self.sequence, self.lifetime)

    @classmethod
    def decode(cls, d: bytes) -> BindingAcknowledgement:
        status, flags, seq, lifetime = _BA.unpack(d)
        return cls(status, seq, lifetime, bool(flags & 0x80), flags & 0x7F)


@dataclass(frozen=True, slots=True)
class BindingError:
    """RFC 6275 §6.1.9: ``home_address`` is the Home Address option's address of the
    packet in error, or unspecified."""

    status: int
    home_address: IPv6Address = UNSPECIFIED
    reserved: int = 0

    MH_TYPE: ClassVar[int] = MH_BE
    FIXED_LEN: ClassVar[int] = 18

    def encode(self) -> bytes:
        return _BE.pack(self.status, self.reserved, self.home_address.packed)

    @classmethod
    def decode(cls, d: bytes) -> BindingError:
        status, reserved, home = _BE.unpack(d)
        return cls(status, IPv6Address(home), reserved)


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """An MH Type this module does not know (RFC 6275 §9.2: answered with a Binding Error,
    status 2): its whole Message Data, options included, as octets."""

    mh_type: int
    data: bytes = b""

    FIXED_LEN: ClassVar[int] = 0

    @property
    def MH_TYPE(self) -> int:
        return self.mh_type

    def encode(self) -> bytes:
        return self.data


MhMessage = (
    BindingRefreshRequest
    | HomeTestInit
    | CareOfTestInit
    | HomeTest
    | CareOfTest
    | BindingUpdate
    | BindingAcknowledgement
    | BindingError
    | UnknownMessage
)

#: The message class of each known MH Type.
MESSAGE_CLASSES: dict[
    int,
    type[BindingRefreshRequest]
    | type[HomeTestInit]
    | type[CareOfTestInit]
    | type[HomeTest]
    | type[CareOfTest]
    | type[BindingUpdate]
    | type[BindingAcknowledgement]
    | type[BindingError],
] = {
    MH_BRR: BindingRefreshRequest,
    MH_HOTI: HomeTestInit,
    MH_COTI: CareOfTestInit,
    MH_HOT: HomeTest,
    MH_COT: CareOfTest,
    MH_BU: BindingUpdate,
    MH_BA: BindingAcknowledgement,
    MH_BE: BindingError,
}


def _cookie(value: bytes) -> bytes:
    if len(value) != 8:
        raise ValueError(f"cookies, nonces' tokens are 64 bits, not {len(value)} octets")
    return value


# -- the header ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MobilityHeader:
    """RFC 6275 §6.1.1: a message and its mobility options (padding included: see
    :meth:`aligned`). ``payload_proto`` is sent as 59 (IPPROTO_NONE); the receiver checks
    it (RFC 6275 §9.2)."""

    message: MhMessage
    options: tuple[MhOption, ...] = ()
    payload_proto: int = IPPROTO_NONE
    reserved: int = 0

    @classmethod
    def aligned(cls, message: MhMessage, options: tuple[MhOption, ...] = ()) -> MobilityHeader:
        """The message with ``options`` padded per RFC 6275 §6.2 (and the header to 8n)."""
        start = HEADER_LEN + len(message.encode())
        return cls(message, align_options(options, start))

    @property
    def mh_type(self) -> int:
        return self.message.MH_TYPE

    def option(self, kind: type[MhOption]) -> MhOption | None:
        """The first option of class ``kind``, or None."""
        return next((o for o in self.options if isinstance(o, kind)), None)

    @classmethod
    def parse(
        cls, buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address
    ) -> MobilityHeader:
        """Parse and verify the checksum. Octets beyond Header Len are not the header's."""
        if len(buf) < 8:
            raise WireError(f"mobility header: {len(buf)} octets, need 8")
        proto, hlen, mh_type, reserved, _ = _HEADER.unpack_from(buf, 0)
        length = (hlen + 1) * 8
        if length > len(buf):
            raise WireError(f"mobility header: length {length} with {len(buf)} octets")
        data = memoryview(buf)[:length]
        if upper_layer_checksum(src, dst, IPPROTO_MH, data) != 0:
            raise ChecksumError("mobility header: bad checksum")
        return cls._decode(data, proto, mh_type, reserved)

    @classmethod
    def parse_unchecked(cls, buf: bytes | bytearray | memoryview) -> MobilityHeader:
        """Parse without the checksum (a header quoted in an ICMPv6 error, or one whose
        pseudo-header is not known)."""
        if len(buf) < 8:
            raise WireError(f"mobility header: {len(buf)} octets, need 8")
        proto, hlen, mh_type, reserved, _ = _HEADER.unpack_from(buf, 0)
        length = (hlen + 1) * 8
        if length > len(buf):
            raise WireError(f"mobility header: length {length} with {len(buf)} octets")
        return cls._decode(memoryview(buf)[:length], proto, mh_type, reserved)

    @classmethod
    def _decode(cls, data: memoryview, proto: int, mh_type: int, reserved: int) -> MobilityHeader:
        body = bytes(data[HEADER_LEN:])
        kind = MESSAGE_CLASSES.get(mh_type)
        if kind is None:
            return cls(UnknownMessage(mh_type, body), (), proto, reserved)
        if len(body) < kind.FIXED_LEN:
            # RFC 6275 §9.2: Header Len less than the message's minimum: malformed.
            raise WireError(f"mobility header type {mh_type}: {len(body)} octets of data")
        message = kind.decode(body[: kind.FIXED_LEN])
        options = parse_mobility_options(body[kind.FIXED_LEN :])
        return cls(message, options, proto, reserved)

    def buffer_len(self) -> int:
        return HEADER_LEN + len(self.message.encode()) + sum(o.buffer_len() for o in self.options)

    def encode_zero_checksum(self) -> bytes:
        """The header with its checksum field zero (the octets RFC 6275 §5.2.6 computes the
        Authenticator over, and those the checksum is computed over)."""
        body = self.message.encode() + b"".join(o.encode() for o in self.options)
        length = HEADER_LEN + len(body)
        if length % 8 or length > 2048:
            raise ValueError(f"mobility header of {length} octets, not 8n (see aligned)")
        head = _HEADER.pack(self.payload_proto, length // 8 - 1, self.mh_type, self.reserved, 0)
        return head + body

    def emit(
        self, buf: bytearray | memoryview, off: int, src: IPv6Address, dst: IPv6Address
    ) -> None:
        raw = bytearray(self.encode_zero_checksum())
        csum = upper_layer_checksum(src, dst, IPPROTO_MH, raw)
        _H.pack_into(raw, 4, csum)
        buf[off : off + len(raw)] = raw

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf, 0, src, dst)
        return bytes(buf)


# -- the Home Address option (RFC 6275 §6.3) ---------------------------------------------
def home_address_option(home_address: IPv6Address) -> ext.Option:
    """RFC 6275 §6.3: the option a mobile node puts in a Destination Options header."""
    return ext.Option(HOME_ADDRESS_OPTION, home_address.packed)


def parse_home_address_option(option: ext.Option) -> IPv6Address:
    """The home address of a Home Address option; WireError if its length is not 16."""
    if option.type != HOME_ADDRESS_OPTION:
        raise WireError(f"option type {option.type} is not the Home Address option")
    if len(option.data) != 16:
        raise WireError(f"home address option: {len(option.data)} octets, must be 16")
    return IPv6Address(option.data)


def home_address_header(next_header: int, home_address: IPv6Address) -> ext.DestinationOptions:
    """A Destination Options header carrying just the Home Address option, padded so the
    option starts at 8n+6 (RFC 6275 §6.3), as the mobile node sends it."""
    opts: tuple[ext.TlvOption, ...] = (ext.pad_n(4), home_address_option(home_address))
    return ext.DestinationOptions(next_header, ext.pad_options(opts))


# -- ICMPv6 for home agent and prefix discovery (RFC 6275 §6.5 - RFC 6275 §6.8) ---------------
ICMPV6_HAAD_REQUEST = 144  # Home Agent Address Discovery Request, RFC 6275 §6.5
ICMPV6_HAAD_REPLY = 145  # Home Agent Address Discovery Reply, RFC 6275 §6.6
ICMPV6_MOBILE_PREFIX_SOLICITATION = 146  # RFC 6275 §6.7
ICMPV6_MOBILE_PREFIX_ADVERTISEMENT = 147  # RFC 6275 §6.8
_IPPROTO_ICMPV6 = 58
_ICMP_ID = struct.Struct("!BBHHH")  # Type, Code, Checksum, Identifier, Reserved
#: RFC 2526 §2, RFC 6275 §10.5: the Mobile IPv6 Home-Agents anycast address has the
#: interface identifier of the reserved subnet anycast addresses (EUI-64 format, the
#: universal/local bit 0) with Anycast ID 0x7E.
HOME_AGENTS_ANYCAST_ID = 0xFDFF_FFFF_FFFF_FFFE
MPA_FLAG_M = 0x8000  # Managed Address Configuration (RFC 6275 §6.8)
MPA_FLAG_O = 0x4000  # Other Stateful Configuration


def home_agents_anycast(prefix_address: IPv6Address, prefix_length: int = 64) -> IPv6Address:
    """RFC 6275 §10.5, RFC 2526 §2: the Home-Agents anycast address of a 64-bit home prefix."""
    if prefix_length != 64:
        raise ValueError("the reserved subnet anycast format here is for /64 prefixes")
    base = int(prefix_address) >> 64 << 64
    return IPv6Address(base | HOME_AGENTS_ANYCAST_ID)


def _icmp_build(head: bytes, body: bytes, src: IPv6Address, dst: IPv6Address) -> bytes:
    raw = bytearray(head + body)
    _H.pack_into(raw, 2, upper_layer_checksum(src, dst, _IPPROTO_ICMPV6, raw))
    return bytes(raw)


def _icmp_fields(buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address) -> int:
    if len(buf) < _ICMP_ID.size:
        raise WireError(f"icmpv6 type {buf[0] if buf else '?'}: {len(buf)} octets, need 8")
    if upper_layer_checksum(src, dst, _IPPROTO_ICMPV6, buf) != 0:
        raise ChecksumError("icmpv6: bad checksum")
    return int(_ICMP_ID.unpack_from(buf, 0)[3])


@dataclass(frozen=True, slots=True)
class _IdentifierOnly:
    """An ICMPv6 message of RFC 6275 that carries nothing but an Identifier (Code 0, then
    Reserved): the Home Agent Address Discovery Request (RFC 6275 §6.5) and the Mobile
    Prefix Solicitation (RFC 6275 §6.7). Each subclass names its Type."""

    identifier: int

    TYPE: ClassVar[int]

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address) -> Self:
        return cls(_icmp_fields(buf, src, dst))

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        return _icmp_build(_ICMP_ID.pack(self.TYPE, 0, 0, self.identifier, 0), b"", src, dst)


@dataclass(frozen=True, slots=True)
class HaadRequest(_IdentifierOnly):
    """RFC 6275 §6.5: Type 144, Code 0, an Identifier to match the reply."""

    TYPE: ClassVar[int] = ICMPV6_HAAD_REQUEST


@dataclass(frozen=True, slots=True)
class HaadReply:
    """RFC 6275 §6.6: Type 145, the request's Identifier and the home agents' global
    unicast addresses, most preferred first."""

    identifier: int
    home_agents: tuple[IPv6Address, ...]

    TYPE: ClassVar[int] = ICMPV6_HAAD_REPLY

    @classmethod
    def parse(
        cls, buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address
    ) -> HaadReply:
        identifier = _icmp_fields(buf, src, dst)
        rest = bytes(buf[_ICMP_ID.size :])
        if len(rest) % 16:
            raise WireError(f"home agent address discovery reply: {len(rest)} octets of list")
        agents = tuple(IPv6Address(rest[i : i + 16]) for i in range(0, len(rest), 16))
        return cls(identifier, agents)

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        head = _ICMP_ID.pack(self.TYPE, 0, 0, self.identifier, 0)
        return _icmp_build(head, b"".join(a.packed for a in self.home_agents), src, dst)


@dataclass(frozen=True, slots=True)
class MobilePrefixSolicitation(_IdentifierOnly):
    """RFC 6275 §6.7: Type 146, an Identifier to match the advertisement."""

    TYPE: ClassVar[int] = ICMPV6_MOBILE_PREFIX_SOLICITATION


@dataclass(frozen=True, slots=True)
class MobilePrefixAdvertisement:
    """RFC 6275 §6.8: Type 147, the solicitation's Identifier (or any, unsolicited), the M
    and O flags, and Prefix Information options (RFC 4861 §4.6.2) for the home link."""

    identifier: int
    prefixes: tuple[nd.PrefixInformation, ...]
    managed: bool = False
    other: bool = False

    TYPE: ClassVar[int] = ICMPV6_MOBILE_PREFIX_ADVERTISEMENT

    @classmethod
    def parse(
        cls, buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address
    ) -> MobilePrefixAdvertisement:
        identifier = _icmp_fields(buf, src, dst)
        flags = _ICMP_ID.unpack_from(buf, 0)[4]
        options = nd.parse_options(memoryview(bytes(buf))[_ICMP_ID.size :])
        prefixes = tuple(o for o in options if isinstance(o, nd.PrefixInformation))
        return cls(identifier, prefixes, bool(flags & MPA_FLAG_M), bool(flags & MPA_FLAG_O))

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        flags = (MPA_FLAG_M if self.managed else 0) | (MPA_FLAG_O if self.other else 0)
        head = _ICMP_ID.pack(self.TYPE, 0, 0, self.identifier, flags)
        return _icmp_build(head, b"".join(p.build() for p in self.prefixes), src, dst)
