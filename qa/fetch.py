"""Fetching one page or feed over HTTP(S), within limits, without becoming a way into the network.

`fetch` follows redirects itself and, at every hop, checks the scheme, resolves the host name
once, checks every address it resolves to, and then connects to that very address (the name
is never looked up a second time, so a DNS answer that changes between check and use, "DNS
rebinding", gains nothing). HTTPS still verifies the certificate against the real host name,
sent as SNI. When `allow_private` is False, loopback, private (RFC 1918, fc00::/7), link-local
(169.254/16 with the cloud metadata address, fe80::/10), unspecified, multicast, reserved and
carrier-grade NAT (100.64/10) addresses are refused, also when they hide inside an IPv6
address (::ffff:10.0.0.1, 64:ff9b::/96, 6to4, Teredo), and so are names like `localhost`;
`Settings.fetch_allow` lists hosts (`host` or `host:port`) an administrator trusts anyway.

Why not a library: the candidates on PyPI did not fit. safehttpx (installed with Gradio) is
async only, accepts a name as soon as one of its addresses is public, asks Google's DNS over
the internet when the local answer has no public address, follows no redirects and lets
100.64/10 through; advocate has had no release since 2020 and patches requests' internals;
the newer httpx wrappers are a few months old with one author. The standard library's
`http.client` with `connect` overridden is small enough to read in full.

Proxies from the environment (HTTP_PROXY, ...) are deliberately not used: a proxy would
resolve the name again, out of our sight.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from .errors import FetchError
from .settings import Settings

USER_AGENT = "qa/0.1 (+news question answering)"

# What a page may be served as. Anything else (images, PDFs, JSON, ...) is refused by name.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Feeds: the registered types, the generic XML ones many sites use, and text/html and
# text/plain, under which many real feeds are served: the feed parser decides whether it is
# a feed, and says so when it is not.
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml",
                        "application/xml", "text/xml", "application/feed+json", "application/json",
                        "text/html", "text/plain"})

_ACCEPT = {HTML_TYPES: "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
           FEED_TYPES: "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1"}
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 65536
# Names that mean this machine or its network whatever DNS says (RFC 6761, common cloud names).
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback",
                "metadata.google.internal")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")


@dataclass(frozen=True)
class Fetched:
    url: str                # the final URL, after redirects
    status: int
    content_type: str       # lower case, without parameters ("text/html")
    charset: str | None     # from the Content-Type header, when it names one
    body: bytes             # decompressed, at most Settings.max_fetch_bytes


def fetch(url: str, settings: Settings | None = None, *, allow_private: bool,
          types: frozenset[str] = HTML_TYPES, what: str = "a web page") -> Fetched:
    """GET `url` following at most `settings.max_redirects` redirects, each checked as the
    first. Raises FetchError with a one-line reason naming the URL."""
    settings = settings or Settings()
    deadline = time.monotonic() + settings.fetch_timeout
    seen = {url}
    current = url
    for _ in range(settings.max_redirects + 1):
        try:
            response, conn = _request(current, settings, allow_private, deadline, types)
        except FetchError as exc:
            # A hop after a redirect names both: what was asked for, and where it led.
            raise exc if current == url else FetchError(f"{url} -> {exc}") from None
        try:
            if response.status in _REDIRECTS:
                location = response.getheader("Location")
                if not location:
                    raise FetchError(f"{current}: HTTP {response.status} redirect without a Location")
                nxt = urljoin(current, location.strip())
                if nxt in seen:
                    raise FetchError(f"{url}: redirect loop ({nxt} again)")
                seen.add(nxt)
                current = nxt
                continue
            try:
                return _finish(current, response, conn, settings, types, what, deadline)
            except FetchError as exc:
                raise exc if current == url else FetchError(f"{url} -> {exc}") from None
        finally:
            response.close()
            conn.close()
    raise FetchError(f"{url}: too many redirects (more than {settings.max_redirects})")


def check_url(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of an http(s) URL; FetchError for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"{url}: not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise FetchError(f"{url}: only http:// and https:// addresses can be fetched, not {shown}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise FetchError(f"{url}: no host name in the address")
    scheme = parts.scheme.lower()
    return scheme, host, port or (443 if scheme == "https" else 80)


def refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not on the public internet ("a private address"), or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded)
    for kind, test in (("a loopback address", ip.is_loopback),
                       ("an unspecified address", ip.is_unspecified),
                       ("a link-local address (where cloud metadata services live)", ip.is_link_local),
                       ("a private address", ip.is_private),
                       ("a carrier-grade NAT address", ip.version == 4 and ip in _SHARED),
                       ("a multicast address", ip.is_multicast),
                       ("a reserved address", ip.is_reserved),
                       ("not a public address", not ip.is_global)):
        if test:
            return kind
    return None


def _allowed(host: str, port: int, settings: Settings) -> bool:
    """Whether `host:port` is on the administrator's list (`host` alone allows every port)."""
    host = host.lower()
    for entry in getattr(settings, "fetch_allow", ()) or ():
        entry = entry.strip().lower()
        name, entry_port = entry, ""
        if entry.startswith("[") or entry.count(":") == 1:  # [::1]:8080, host:8080; a bare ::1 has no port
            head, _, tail = entry.rpartition(":")
            if head and tail.isdigit() and not entry.endswith("]"):
                name, entry_port = head, tail
        if name.strip("[]") == host and (not entry_port or int(entry_port) == port):
            return True
    return False


def _vetted_addresses(url: str, host: str, port: int, settings: Settings, allow_private: bool,
                      deadline: float) -> list[str]:
    """The addresses to connect to: resolved once, every answer checked."""
    trusted = allow_private or _allowed(host, port, settings)
    lowered = host.lower()
    if not trusted and (lowered in _LOCAL_NAMES or lowered.endswith(_LOCAL_SUFFIXES)):
        raise FetchError(f"{url}: refused: {host} is a name for this machine or its local network")
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
        literal = True
    except ValueError:
        addresses = _resolve(url, host, port, settings, deadline)
        literal = False
    if not trusted:
        for ip in addresses:
            why = refusal(ip)
            if why:
                shown = host if literal else f"{host} ({ip})"
                raise FetchError(f"{url}: refused: {shown} is {why}")
    return [str(ip) for ip in addresses]


def _resolve(url: str, host: str, port: int, settings: Settings, deadline: float) -> list:
    # getaddrinfo has no timeout of its own: run it aside and stop waiting at the deadline.
    result: dict = {}

    def lookup():
        try:
            result["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            result["error"] = exc

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise FetchError(f"{url}: timed out after {settings.fetch_timeout} s (looking up {host})")
    if "error" in result or not result.get("infos"):
        raise FetchError(f"{url}: cannot find the host {host}")
    addresses = []
    for family, *_, sockaddr in result["infos"]:
        if family in (socket.AF_INET, socket.AF_INET6):
            ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
            if ip not in addresses:
                addresses.append(ip)
    if not addresses:
        raise FetchError(f"{url}: cannot find the host {host}")
    return addresses


def _connect(addresses: list[str], port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first vetted address that answers (never to the name)."""
    error: OSError | None = None
    for address in addresses:
        try:
            return _open_socket(address, port, timeout)
        except OSError as exc:
            error = exc
    raise error


def _open_socket(address: str, port: int, timeout: float) -> socket.socket:
    # A plain socket rather than socket.create_connection, which would hand even a numeric
    # address to getaddrinfo again: nothing between the check and the connect resolves.
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((address, port))
        return sock
    except BaseException:
        sock.close()
        raise


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the vetted addresses; the Host header keeps the real name. `pinned` stays
    set after http.client lets go of the socket, so reads can be held to the deadline."""

    def __init__(self, host, port, addresses, timeout):
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses
        self.pinned = None

    def connect(self):
        self.sock = self.pinned = _connect(self._addresses, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """Connects to the vetted addresses; TLS checks the certificate against the real name (SNI)."""

    def __init__(self, host, port, addresses, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._addresses = addresses
        self.pinned = None

    def connect(self):
        sock = _connect(self._addresses, self.port, self.timeout)
        self.sock = self.pinned = self._context.wrap_socket(sock, server_hostname=self.host)


def _request(url: str, settings: Settings, allow_private: bool, deadline: float, types: frozenset[str]):
    scheme, host, port = check_url(url)
    addresses = _vetted_addresses(url, host, port, settings, allow_private, deadline)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"{url}: timed out after {settings.fetch_timeout} s")
    cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = cls(host, port, addresses, remaining)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("GET", target, headers={
            "User-Agent": USER_AGENT, "Accept": _ACCEPT.get(types, "*/*"),
            "Accept-Encoding": "gzip", "Accept-Language": "en, ar;q=0.9, *;q=0.5", "Connection": "close"})
        return conn.getresponse(), conn
    except BaseException as exc:
        conn.close()
        if isinstance(exc, Exception):
            raise _network_error(url, exc, settings) from None
        raise


def _network_error(url: str, exc: Exception, settings: Settings) -> FetchError:
    if isinstance(exc, FetchError):
        return exc
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return FetchError(f"{url}: timed out after {settings.fetch_timeout} s")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FetchError(f"{url}: the site's certificate is not valid ({exc.verify_message})")
    if isinstance(exc, ssl.SSLError):
        return FetchError(f"{url}: secure connection failed ({exc.reason or exc})")
    if isinstance(exc, ConnectionRefusedError):
        return FetchError(f"{url}: connection refused")
    if isinstance(exc, http.client.IncompleteRead):
        return FetchError(f"{url}: the connection closed before the whole response arrived")
    if isinstance(exc, http.client.HTTPException):
        return FetchError(f"{url}: the server's answer is not valid HTTP ({type(exc).__name__})")
    if isinstance(exc, OSError):
        return FetchError(f"{url}: cannot connect ({exc.strerror or exc})")
    return FetchError(f"{url}: {type(exc).__name__}: {exc}")


def _finish(url: str, response, conn, settings: Settings, types: frozenset[str], what: str,
            deadline: float) -> Fetched:
    if not 200 <= response.status < 300:
        raise FetchError(f"{url}: HTTP {response.status} {response.reason}".rstrip())
    raw_type = response.getheader("Content-Type") or ""
    content_type = raw_type.split(";")[0].strip().lower()
    charset = None
    for param in raw_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip(' "\''):
            charset = value.strip(' "\'')
    if content_type and content_type not in types:
        raise FetchError(f"{url}: content type {content_type} is not {what}")
    limit = settings.max_fetch_bytes
    length = response.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > limit:
        raise FetchError(f"{url}: response is over the limit of {limit:,} bytes ({int(length):,})")
    body = _read(url, response, conn, settings, deadline)
    if not content_type:  # no type given: accept only what looks like markup
        if not body.lstrip()[:1] == b"<":
            raise FetchError(f"{url}: the server did not say what it sent, and it is not {what}")
        content_type = "text/html" if "text/html" in types else "application/xml"
    return Fetched(url=url, status=response.status, content_type=content_type, charset=charset, body=body)


def _read(url: str, response, conn, settings: Settings, deadline: float) -> bytes:
    """The body, stopping as soon as it (or its decompressed form) passes the limit or the
    deadline passes: neither a missing Content-Length nor a gzip bomb nor a server that
    trickles one byte at a time gets past it."""
    limit = settings.max_fetch_bytes
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip"):
        raise FetchError(f"{url}: unsupported content encoding {encoding}")
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding != "identity" else None
    over = f"{url}: response is over the limit of {limit:,} bytes"
    parts, size, received = [], 0, 0
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout()
            if conn.pinned is not None:
                conn.pinned.settimeout(remaining)
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            received += len(chunk)
            if received > limit:
                raise FetchError(over)
            if inflate is not None:
                chunk = inflate.decompress(chunk, limit - size + 1)
                if inflate.unconsumed_tail:
                    raise FetchError(over)
            size += len(chunk)
            if size > limit:
                raise FetchError(over)
            parts.append(chunk)
        if inflate is not None:
            tail = inflate.flush()
            if size + len(tail) > limit:
                raise FetchError(over)
            parts.append(tail)
    except zlib.error:
        raise FetchError(f"{url}: the compressed response is damaged") from None
    except FetchError:
        raise
    except Exception as exc:
        raise _network_error(url, exc, settings) from None
    return b"".join(parts)
