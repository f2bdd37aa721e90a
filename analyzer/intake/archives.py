"""Archive readers: detect a format by its magic bytes and walk it as a stream, nested archives included.

Formats: tar (plain, gzip, bzip2, xz), zip, 7z, and single gzip/bzip2/xz files. Nothing is extracted
under a name the archive chose: tar is read in stream mode, zip entries with ``ZipFile.open``, 7z through
writers into an anonymous spool, and a nested zip or 7z (which needs random access) is first copied to an
anonymous ``tempfile.TemporaryFile``.

Member paths:
- a member of the input archive keeps its own (normalized) path;
- a member of a nested archive is joined to the nested archive's path:
  ``var/lib/waagent/history/2022-04-19T21-03-01__2.zip/GoalState.xml``;
- **wrapper rule**: when the input archive holds exactly one file and that file is an archive (a ticket's
  ``upload.zip`` holding ``logs.tar.gz``), the wrapper is transparent and the inner members keep their own
  paths. For tar, read as a stream, "exactly one" means: the first file, with nothing after it;
- a single-file gzip/bzip2/xz member is yielded decompressed under its name minus the suffix
  (``var/log/waagent.log.2.gz`` -> ``var/log/waagent.log.2``), so rotations stay distinguishable;
- duplicate names are all yielded, in archive order, under the same path (a list, not a dict); the
  ``origin`` of the second and later copies ends in ``#2``, ``#3``... so they stay distinguishable.

Refused entries (links, devices, absolute or ``..`` names, encryption, methods outside the allow-list,
sizes over a limit) become ``bundle.problem`` rows and the walk goes on. A corrupt or truncated archive
gets a row and keeps the members read before the damage; the input archive itself raises
:class:`IntakeError` when nothing at all could be read from it, and a bundle-wide budget
(:class:`BudgetExhausted`) always stops the walk.
"""

from __future__ import annotations

import bz2
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from analyzer.escape import escape_name
from analyzer.intake import polyglot, tarsafe, zipsafe
from analyzer.intake.limits import BudgetExhausted, IntakeError, LimitExceeded, Limits, detail
from analyzer.intake.members import Member, Sink
from analyzer.intake.paths import normalize_path, refusal
from analyzer.intake.streams import (
    DECODE_ERRORS,
    Budget,
    GuardedReader,
    MemberReader,
    RatioReader,
    XzReader,
    anonymous_file,
    buffered,
    gunzip,
    spool,
)
from analyzer.intake.tardata import member_data
from parsers.base import Message, say

if TYPE_CHECKING:
    import py7zr


_GZIP, _BZIP2, _XZ, _TAR, _ZIP, _7Z = "gzip", "bzip2", "xz", "tar", "zip", "7z"
_SUFFIXES = {_GZIP: (".tgz", ".gz"), _BZIP2: (".tbz2", ".tbz", ".bz2"), _XZ: (".txz", ".xz")}
_TAR_FOR = {".tgz", ".tbz2", ".tbz", ".txz"}
SNIFF = 512


def sniff(head: bytes) -> str | None:
    """The container format of these first bytes, or ``None`` for a plain file."""
    if head.startswith(b"\x1f\x8b"):
        return _GZIP
    if head.startswith(b"BZh") and head[3:4].isdigit():
        return _BZIP2
    if head.startswith(b"\xfd7zXZ\x00"):
        return _XZ
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _ZIP
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return _7Z
    if head[257:262] == b"ustar":
        return _TAR
    return None


#: formats recognized so that they are named, never read: (magic, offset, name, usual suffixes)
_UNSUPPORTED = ((b"\x28\xb5\x2f\xfd", 0, "zstd", (".zst", ".tzst", ".zstd")),
                (b"Rar!\x1a\x07", 0, "RAR", (".rar",)),
                (b"\x04\x22\x4d\x18", 0, "LZ4", (".lz4",)),
                (b"LZIP", 0, "lzip", (".lz",)),
                (b"\x1f\x9d", 0, "Unix compress (.Z)", (".z", ".taz")),
                (b"MSCF", 0, "Windows cabinet", (".cab",)))
#: what a name promises: suffix -> the format it names (a supported one when the bytes disagree is an error)
_NAMED = {".tar.gz": _GZIP, ".tgz": _GZIP, ".gz": _GZIP, ".tar.bz2": _BZIP2, ".tbz2": _BZIP2, ".tbz": _BZIP2,
          ".bz2": _BZIP2, ".tar.xz": _XZ, ".txz": _XZ, ".xz": _XZ, ".zip": _ZIP, ".7z": _7Z, ".tar": _TAR}


def unsupported(name: str, head: bytes) -> str | None:
    """The name of an archive or compression format these bytes (or, failing that, the file name) show and this
    tool does not read; ``None`` otherwise."""
    low = name.lower()
    for magic, offset, kind, _ in _UNSUPPORTED:
        if head[offset:offset + len(magic)] == magic:
            return kind
    return next((kind for _, _, kind, suffixes in _UNSUPPORTED if low.endswith(suffixes)), None)


def _looks_binary(head: bytes) -> bool:
    """Bytes no text log starts with: NULs or many control characters (UTF-16 text has NULs but a BOM)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False
    control = sum(1 for b in head if b < 9 or (13 < b < 32 and b != 27))
    return b"\x00" in head or control > len(head) // 10


def _refuse_input(name: str, head: bytes) -> None:
    """An input file that cannot be read at all: an unsupported format, or bytes that are not what the name says."""
    kind = unsupported(name, head)
    if kind is not None:
        raise IntakeError(say("intake.unsupported_input", path=name, kind=kind))
    low = name.lower()
    named = next((k for suffix, k in _NAMED.items() if low.endswith(suffix)), None)
    if named is not None and sniff(head) is None and _looks_binary(head):
        raise IntakeError(say("intake.misnamed_input", path=name, kind=named, head=head[:8].hex(" ")))


@dataclass
class _Walk:
    bundle: Sink
    budget: Budget
    seen: dict[str, int] = field(default_factory=dict)
    two_ways: set[tuple[str, str]] = field(default_factory=set)  # (kind, path) checked for a second reading

    @property
    def limits(self) -> Limits:
        return self.budget.limits

    def member(self, path: str, size: int | None, stream: BinaryIO, origin: str) -> Member:
        raw = getattr(stream, "raw", None)
        if isinstance(raw, MemberReader):  # a parser reads it: the bytes before any damage reach it first
            raw.deliver_first = True
        n = self.seen.get(path, 0) + 1
        self.seen[path] = n
        return Member(path, size, stream, origin if n == 1 else f"{origin}#{n}")


def iter_file(bundle: Sink, path: Path) -> Iterator[Member]:
    """The members of an input file: an archive, or a single plain file (a pasted waagent.log)."""
    walk = _Walk(bundle, bundle.budget)
    with path.open("rb") as f:
        _refuse_input(escape_name(path.name), f.read(SNIFF))
        f.seek(0)
        yield from _content(walk, path.name, "", path.name, f, path.stat().st_size, 0, top=True)


def expand(bundle: Sink, path: str, stream: BinaryIO, size: int | None, origin: str) -> Iterator[Member]:
    """One file of a folder input: yielded as is, or its members when it is an archive."""
    walk = _Walk(bundle, bundle.budget)
    if stream.seekable():  # a file of the folder: it can be read the other way too (before the budget wraps it)
        kind = sniff(stream.read(SNIFF))
        if kind is not None:
            _polyglot(walk, kind, path, stream)
        stream.seek(0)
    yield from _entry(walk, path, path, origin, stream, size, 1)


def _entry(w: _Walk, path: str, prefix: str, origin: str, raw: BinaryIO, size: int | None,
           depth: int, *, top: bool = False) -> Iterator[Member]:
    """An archive entry: charged to the budget as it is read, then sniffed."""
    stream = buffered(MemberReader(raw, path, w.budget))
    yield from _content(w, path, prefix, origin, stream, size, depth, top=top)


def _content(w: _Walk, path: str, prefix: str, origin: str, stream: BinaryIO, size: int | None,
             depth: int, *, top: bool) -> Iterator[Member]:
    """Dispatch on the magic bytes. ``prefix`` is where the members go if this is an archive."""
    try:
        kind = sniff(_peek(stream))
    except IntakeError as exc:
        if isinstance(exc, BudgetExhausted):
            raise
        w.bundle.problem(path, exc.message)
        return
    if kind is None:
        other = unsupported("", _peek(stream))  # by the bytes only: a member's name may be anything
        if other is not None:  # named in its row, not "no parser recognizes this file"
            w.bundle.problem(path, say("intake.unsupported_member", kind=other))
            return
        yield w.member(path, size, stream, origin)
        return
    if depth > w.limits.max_depth:
        w.bundle.problem(path, say("intake.too_deep", kind=kind, limit=w.limits.max_depth))
        return
    if stream.seekable():
        _polyglot(w, kind, path, stream)
    readers: dict[str, Callable[..., Iterator[Member]]] = {
        _GZIP: _compressed, _BZIP2: _compressed, _XZ: _compressed, _TAR: _tar, _ZIP: _zip, _7Z: _7z}
    try:
        yield from readers[kind](w, kind, path, prefix, origin, stream, depth, top)
    except BudgetExhausted:
        raise
    except IntakeError as exc:
        if top:
            raise
        w.bundle.problem(path, exc.message)


def _polyglot(w: _Walk, kind: str, path: str, f: BinaryIO) -> None:
    """A row when the seekable archive ``f`` is also another archive (:mod:`analyzer.intake.polyglot`)."""
    if (kind, path) in w.two_ways:
        return
    w.two_ways.add((kind, path))
    _two_readings(w, path, kind, polyglot.other_reading(kind, f, w.limits))


def _two_readings(w: _Walk, path: str, kind: str, other: Message | None) -> None:
    if other is not None:
        w.bundle.problem(path, say("intake.polyglot", kind=kind, other=other))


def _peek(stream: BinaryIO) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return bytes(peek(SNIFF)[:SNIFF])
    pos = stream.tell()
    head = stream.read(SNIFF)
    stream.seek(pos)
    return head


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


# --- gzip, bzip2, xz -------------------------------------------------------------------------------

def _compressed(w: _Walk, kind: str, path: str, prefix: str, origin: str, stream: BinaryIO, depth: int,
                top: bool) -> Iterator[Member]:
    """A gzip/bzip2/xz layer: a tar inside is read as this archive; anything else is one more member."""
    inner = _strip_suffix(path, kind)
    src = GuardedReader(stream, path)  # counts the compressed bytes the decompressor consumed
    with _DECOMPRESSORS[kind](src) as dec:
        # damage is named by the file the bundle holds (x.tgz), not by the tar inside it
        out = buffered(RatioReader(dec, path, w.limits, lambda: src.count))  # type: ignore[arg-type]
        if sniff(_peek(out)) == _TAR:
            yield from _tar(w, _TAR, path, prefix, origin, out, depth, top)
        else:
            yield from _entry(w, inner, prefix if top else inner, origin, out, None, depth + 1, top=top)


_DECOMPRESSORS: dict[str, Callable[[BinaryIO], BinaryIO]] = {
    _GZIP: gunzip,
    _BZIP2: lambda f: bz2.BZ2File(f, "rb"),  # type: ignore[dict-item]
    _XZ: lambda f: buffered(XzReader(f)),
}


def _strip_suffix(path: str, kind: str) -> str:
    low = path.lower()
    for suffix in _SUFFIXES[kind]:
        if low.endswith(suffix) and len(path) > len(suffix):
            return path[: -len(suffix)] + (".tar" if suffix in _TAR_FOR else "")
    return path


# --- tar -------------------------------------------------------------------------------------------

def _tar_refusal(ti: tarfile.TarInfo) -> Message | None:
    if ti.issym():
        return say("intake.tar_symlink", target=repr(ti.linkname))
    if ti.islnk():
        return say("intake.tar_hardlink", target=repr(ti.linkname))
    if ti.ischr() or ti.isblk() or ti.isfifo():
        return say("intake.tar_device")
    if not ti.isreg():
        return say("intake.tar_type", type=repr(ti.type))
    return None


def _tar(w: _Walk, _kind: str, path: str, prefix: str, origin: str, stream: BinaryIO, depth: int,
         top: bool) -> Iterator[Member]:
    read = 0
    notes = tarsafe.Notes()
    # a tar that cannot be read twice (inside a compressed file or another archive): its ends, for a second reading
    ends = None if stream.seekable() or (_TAR, path) in w.two_ways else polyglot.StreamEnds(stream)
    head = _peek(stream) if ends is not None else b""
    try:
        tf = tarfile.open(fileobj=ends or stream, mode="r|", tarinfo=tarsafe.tarinfo_class(w.limits, notes))
    except BudgetExhausted:
        raise
    except (IntakeError, *DECODE_ERRORS) as exc:
        raise IntakeError(say("intake.tar_unreadable", path=path, error=detail(exc))) from None
    with tf:
        try:
            ti = tf.next()
            while ti is not None:
                tf.members.clear()  # stream mode keeps every TarInfo otherwise (security.md 3.2)
                w.budget.add_member(_join(prefix, escape_name(ti.name)))
                if ends is not None and ti.isreg() and len(ends.spans) < w.limits.max_members:
                    ends.spans.append((ti.offset_data, ti.size))
                nxt: tarfile.TarInfo | bool | None = False  # False: the next entry is not fetched yet
                if not ti.isdir():
                    read += 1
                    member_path, name, reason = _checked_name(w, prefix, ti.name)
                    reason = reason or _tar_refusal(ti) or w.budget.check_declared(ti.size)
                    if reason:
                        w.bundle.problem(member_path, reason)
                    else:
                        raw, data = member_data(tf, ti)
                        entry = buffered(MemberReader(raw, member_path, w.budget))
                        entry_origin = f"{origin}!{name}"
                        if top and read == 1 and sniff(_peek(entry)) is not None:
                            # wrapper rule: a first entry that is an archive, spooled to see what follows it
                            with _spooled(w, member_path, entry) as spooled:
                                nxt = tf.next()
                                if spooled is not None:
                                    sole = nxt is None
                                    yield from _content(w, member_path, prefix if sole else member_path,
                                                        entry_origin, spooled, ti.size, depth + 1, top=sole)
                        else:
                            yield from _content(w, member_path, member_path, entry_origin, entry, ti.size,
                                                depth + 1, top=False)
                        if data is not None and nxt is False:  # what nobody read, in large pieces
                            data.skip()
                ti = tf.next() if nxt is False else nxt  # type: ignore[assignment]
            _check_tail(tf, read, notes)
        except BudgetExhausted:
            raise
        except (IntakeError, *DECODE_ERRORS) as exc:
            msg = say("intake.archive_corrupt", path=path, n=read, error=detail(exc))
            if top and read == 0:
                raise IntakeError(msg) from None
            w.bundle.problem(path, msg)
        finally:
            if ends is not None and _drained(ends):  # read to its end, the stream's last bytes show a zip
                w.two_ways.add((_TAR, path))
                _two_readings(w, path, _TAR, polyglot.zip_in_stream(head, ends))
            if notes.global_headers:
                w.bundle.problem(path, say("intake.pax_global", n=notes.global_headers))


@contextmanager
def _spooled(w: _Walk, path: str, stream: BinaryIO) -> Iterator[BinaryIO | None]:
    """``stream`` in an anonymous file, or ``None`` (with a problem row) when reading it broke a limit."""
    try:
        f = spool(stream)
    except BudgetExhausted:
        raise
    except IntakeError as exc:
        w.bundle.problem(path, exc.message)
        yield None
        return
    with f:
        yield f


def _drained(ends: polyglot.StreamEnds) -> bool:
    """Read what is left of a stream (damage after a tar's end stops the tar reader early); whether it ended."""
    try:
        while ends.read(1 << 16):
            pass
    except BudgetExhausted:
        raise
    except (IntakeError, *DECODE_ERRORS):
        return False
    return True


def _check_tail(tf: tarfile.TarFile, read: int, notes: tarsafe.Notes) -> None:
    """tarfile ends silently at a bad or cut header after the first: that header, or anything but zeros after
    the end, is damage."""
    if notes.last_header_error:
        raise IntakeError(say("intake.header_error_after", error=notes.last_header_error, n=read))
    fileobj = tf.fileobj
    while chunk := fileobj.read(1 << 16):  # type: ignore[union-attr]
        if chunk.count(0) != len(chunk):
            raise IntakeError(say("intake.tail_data", n=read))


def _checked_name(w: _Walk, prefix: str, raw: str) -> tuple[str, str, Message | None]:
    """(member path, name inside this archive, why it is refused or ``None``) for an archive name."""
    reason = refusal(raw, w.limits.max_name)
    norm = normalize_path(raw) if reason is None else None
    shown = escape_name(norm or raw[:200]).replace("\x00", "\\x00")
    return _join(prefix, shown), shown, reason


# --- zip -------------------------------------------------------------------------------------------

def _seekable(stream: BinaryIO, stack: ExitStack) -> BinaryIO:
    if stream.seekable():
        return stream
    return stack.enter_context(spool(stream))


def _zip(w: _Walk, _kind: str, path: str, prefix: str, origin: str, stream: BinaryIO, depth: int,
         top: bool) -> Iterator[Member]:
    with ExitStack() as stack:
        f = _seekable(stream, stack)
        if f is not stream:  # spooled here: now it can be read the other way too
            _polyglot(w, _ZIP, path, f)
        count = zipsafe.declared_entries(f)
        if count is not None and w.budget.members + count > w.limits.max_members:
            raise LimitExceeded(say("intake.zip_too_many", path=path, n=count, limit=w.limits.max_members))
        f.seek(0)
        try:
            zf = stack.enter_context(zipfile.ZipFile(f))
            bad = zipsafe.overlap(zf, f)
        except DECODE_ERRORS as exc:
            raise IntakeError(say("intake.zip_corrupt", path=path, error=str(exc))) from None
        if bad is not None:
            raise LimitExceeded(say("intake.zip_overlap", path=path, entry=repr(bad)))
        infos = zf.infolist()
        files = [i for i in infos if not _zip_dir(i)]
        if top and files and all(zipsafe.is_encrypted(i) for i in files):
            raise IntakeError(say("intake.at_path", path=path, problem=say(zipsafe.ENCRYPTED)))
        sole = top and len(files) == 1
        read = 0
        for info in infos:
            w.budget.add_member(_join(prefix, escape_name(info.filename)))
            if _zip_dir(info):
                continue
            member_path, name, reason = _checked_name(w, prefix, info.orig_filename)
            reason = reason or zipsafe.entry_refusal(info, w.limits) or w.budget.check_declared(info.file_size)
            if reason:
                w.bundle.problem(member_path, reason)
                continue
            try:
                raw = zf.open(info)
            except DECODE_ERRORS as exc:
                w.bundle.problem(member_path, say("intake.zip_entry_unreadable", error=detail(exc)))
                continue
            read += 1
            with raw:
                yield from _entry(w, member_path, prefix if sole else member_path, f"{origin}!{name}", raw,
                                  info.file_size, depth + 1, top=sole)


def _zip_dir(info: zipfile.ZipInfo) -> bool:
    """``ZipInfo.is_dir`` raises IndexError on an empty name (found by fuzz_intake); the name check refuses it."""
    return info.filename.endswith("/")


# --- 7z --------------------------------------------------------------------------------------------

def _7z(w: _Walk, _kind: str, path: str, prefix: str, origin: str, stream: BinaryIO, depth: int,
        top: bool) -> Iterator[Member]:
    from analyzer.intake import sevenzip  # py7zr: tens of milliseconds of import, for 7z bundles only

    with ExitStack() as stack:
        f = _seekable(stream, stack)
        try:
            arc = sevenzip.open_archive(f, w.limits.max_meta_bytes, w.limits.max_members - w.budget.members)
        except sevenzip.SevenZipRefused as exc:
            raise IntakeError(say("intake.at_path", path=path, problem=exc.message)) from None
        stack.callback(arc.close)
        entries: list[sevenzip.Entry] = []
        declared = 0
        sole = top and sum(1 for fi in arc.files if not fi.is_directory) == 1
        for index, fi in enumerate(arc.files):
            w.budget.add_member(_join(prefix, escape_name(fi.filename)))
            if fi.is_directory:
                continue
            member_path, name, reason = _checked_name(w, prefix, fi.filename)
            size = int(fi.uncompressed or 0)
            reason = reason or _7z_refusal(fi) or w.budget.check_declared(size)
            if reason:
                w.bundle.problem(member_path, reason)
                continue
            declared += size
            entries.append(sevenzip.Entry(fi.filename, index, member_path, f"{origin}!{name}"))
        archive_bytes = f.seek(0, 2)
        if declared > w.limits.max_ratio * archive_bytes + w.limits.ratio_floor:
            raise LimitExceeded(say("intake.7z_ratio", path=path, size=declared, packed=archive_bytes,
                                    limit=w.limits.max_ratio))
        spool_file = stack.enter_context(anonymous_file())
        done, error = sevenzip.extract(arc, entries, spool_file, w.budget)
        finished = {e.index for e, _ in done}
        for e in entries:
            if e.index not in finished and error is None:
                w.bundle.problem(e.path, say("intake.7z_duplicate"))
        for e, window in done:
            yield from _content(w, e.path, prefix if sole else e.path, e.origin, buffered(window),
                                e.length, depth + 1, top=sole)
        if error is not None:
            if isinstance(error, BudgetExhausted) or (top and not done):
                raise error
            w.bundle.problem(path, error.message)


def _7z_refusal(fi: py7zr.py7zr.ArchiveFile) -> Message | None:
    if fi.is_symlink or fi.is_junction:
        return say("intake.symlink_entry")
    if fi.is_socket or (fi.st_fmt is not None and fi.st_fmt != stat.S_IFREG):
        return say("intake.special_entry")
    return None
