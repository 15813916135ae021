"""A local Neo4j server for machines without Docker: the Community server's jars from
Maven Central, started with the machine's Java on loopback, auth always on.

Used by `graphmd neo4j start|stop|status` and by the test fixtures. The jars are resolved
once with Maven (graphmd/neo4j_server/pom.xml pins the versions) into the cache directory;
later starts reuse them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import neo4j
from neo4j import exceptions as neo4j_errors

from ._config import cache_dir, config_path, data_dir, read_config, write_config
from ._errors import (AbortedError, DeadlineExceededError, FailedPreconditionError, InvalidArgumentError,
                      UnavailableError, map_driver_errors)

__all__ = ["LocalNeo4j", "ServerStatus", "NEO4J_VERSION", "BROWSER_VERSION", "DOCKER_HINT", "find_java", "resolve_jars"]

NEO4J_VERSION = "5.26.31"
BROWSER_VERSION = "5.24.0"
_POM = Path(__file__).with_name("neo4j_server") / "pom.xml"
_ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
# The JVM options Neo4j's own launcher passes (its default neo4j.conf, server.jvm.additional).
# Without the --add-opens lines the page cache and the transaction log fall back to slower
# paths ("Reflection access to java.nio.DirectByteBuffer is not available, using fallback
# mode"). -XX:+AlwaysPreTouch touches the whole heap at start (~0.3 s for 4 GB here), so no
# query pays for the first use of heap pages: without it, the first 300,000-node lineage read
# on a new 4 GB server took 13.4 s, with it 12.0 s (the next ones 8-9 s either way).
_JVM_OPTIONS = [
    "-XX:+UseG1GC", "-XX:-OmitStackTraceInFastThrow", "-XX:+AlwaysPreTouch", "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields", "-XX:+DisableExplicitGC", "-XX:+ExitOnOutOfMemoryError",
    "-Djdk.nio.maxCachedBufferSize=1024", "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048", "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "-XX:FlightRecorderOptions=stackdepth=256", "-XX:+UnlockDiagnosticVMOptions", "-XX:+DebugNonSafepoints",
    "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true", "-Dfile.encoding=UTF-8",
]
# Works wherever graphmd is installed (docker-compose.yml is only in a clone of the repository).
DOCKER_HINT = ("or run Neo4j in Docker instead: `docker run -d -p 127.0.0.1:7687:7687 -p 127.0.0.1:7474:7474 "
               "-e NEO4J_AUTH=neo4j/PASSWORD neo4j:5.26-community` (PASSWORD: 8+ characters), then "
               "`export GRAPHMD_NEO4J_URI=bolt://127.0.0.1:7687 GRAPHMD_NEO4J_PASSWORD=PASSWORD`")


def find_java() -> str:
    """The java to run Neo4j's jars with: $JAVA_HOME/bin/java, else the one on PATH.

    Raises:
        FailedPreconditionError: no java, or one older than 17.
    """
    java_home = os.environ.get("JAVA_HOME")
    if java_home and not (Path(java_home) / "bin" / "java").exists():
        raise FailedPreconditionError(
            f"JAVA_HOME is {java_home}, which has no bin/java; point it at a Java 17 or newer installation, "
            f"or unset it to use the java on PATH, {DOCKER_HINT}", field="java")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    install = (f"install one (e.g. `apt-get install openjdk-17-jre-headless`) and put it on PATH or point JAVA_HOME "
               f"at it, {DOCKER_HINT}")
    if not java:
        raise FailedPreconditionError(
            f"java is not installed (none on PATH, and JAVA_HOME is unset); Neo4j {NEO4J_VERSION} needs Java 17 or "
            f"newer: {install}", field="java")
    major, said = _java_major(java)
    if major is None:
        raise FailedPreconditionError(
            f"{java} does not run as Java ({said}); Neo4j {NEO4J_VERSION} needs Java 17 or newer: {install}",
            field="java")
    if major < 17:
        raise FailedPreconditionError(
            f"{java} is Java {major}; Neo4j {NEO4J_VERSION} needs Java 17 or newer: {install}", field="java")
    return java


def resolve_jars(pom: Path, lib: Path, what: str, *, say: Callable[[str], None] = lambda _: None) -> Path:
    """Copy the runtime jars ``pom`` depends on into ``lib`` with Maven, once: a ``complete``
    marker beside ``lib`` makes later calls return at once. A failed or interrupted
    resolution leaves no half-filled ``lib``.

    Maven's downloads are reported through ``say`` every few seconds (files and megabytes so
    far): on a slow network the first resolution takes minutes.

    The marker lists each jar with its size: a cache found damaged (a jar missing, emptied or
    cut short, say by a full disk or a hand) is said through ``say`` and resolved again.

    Raises:
        FailedPreconditionError: mvn or java is missing (and nothing usable is cached), or
            Maven failed.
    """
    marker = lib.parent / "complete"
    if marker.exists():
        damage = _cache_damage(marker, lib)
        if damage is None:
            return lib
        say(f"the cache of {what} in {lib} is damaged ({damage}); resolving it again")
        marker.unlink(missing_ok=True)
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FailedPreconditionError(
            f"mvn (Apache Maven) is not installed; it fetches {what} once. Install it "
            f"(e.g. `apt-get install maven`) {DOCKER_HINT}", field="mvn")
    # Maven runs on Java: without one it says only "The JAVA_HOME environment variable is not
    # defined correctly", even where JAVA_HOME was never meant to be set.
    find_java()
    lib.parent.mkdir(parents=True, exist_ok=True)
    # Two first starts at once resolve once: the second waits, then finds the marker.
    with _locked(lib.parent / "resolve.lock"):
        if marker.exists():
            return lib
        say(f"resolving {what} from Maven Central (first use only)...")
        staging = lib.parent / "lib.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            # Not -q: Maven's warnings are where a download that failed says why. Not -ntp
            # either: its "Downloaded from" lines are the progress reported.
            code, output = _run_maven(
                [mvn, "-B", "-Dstyle.color=never", "-f", str(pom), "dependency:copy-dependencies",
                 "-DincludeScope=runtime", f"-DoutputDirectory={staging}"], what, say)
            if code != 0:
                raise FailedPreconditionError(_maven_failure(what, code, output), field="mvn")
            shutil.rmtree(lib, ignore_errors=True)
            staging.rename(lib)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        jars = sorted(lib.glob("*.jar"))
        marker.write_text(f"{what}\n" + "".join(f"{jar.name}\t{jar.stat().st_size}\n" for jar in jars))
    say(f"cached {len(list(lib.glob('*.jar')))} jars in {lib}")
    return lib


def _cache_damage(marker: Path, lib: Path) -> str | None:
    """What is wrong with a cache ``marker`` says is complete, or None: a jar it lists missing
    or of another size; for a marker from before it listed them, a jar that is no zip."""
    try:
        listed = [line.split("\t") for line in marker.read_text(encoding="utf-8").splitlines()[1:] if line]
        if not listed:
            jars = list(lib.glob("*.jar"))
            if not jars:
                return "no jars"
            bad = next((jar for jar in jars if not zipfile.is_zipfile(jar)), None)
            if bad is not None:
                return f"{bad.name} is not a jar"
            with contextlib.suppress(OSError):  # list them, so later checks are a stat each
                marker.write_text(marker.read_text(encoding="utf-8").rstrip("\n") + "\n"
                                  + "".join(f"{jar.name}\t{jar.stat().st_size}\n" for jar in sorted(jars)))
            return None
        for name, size in listed:
            jar = lib / name
            if not jar.is_file():
                return f"{name} is missing"
            if jar.stat().st_size != int(size):
                return f"{name} has {jar.stat().st_size:,} bytes, not {int(size):,}"
    except (OSError, ValueError) as error:
        return f"its list of jars is unreadable: {error}"
    return None


# Maven's batch-mode line for each file it fetched: "Downloaded from central: URL (56 kB at 1.2 MB/s)".
_DOWNLOADED = re.compile(r"Downloaded from [^:]+: \S+ \(([0-9.,]+) (B|kB|KB|MB|GB)\b")
_DOWNLOAD_UNITS = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9}
_PROGRESS_EVERY = 3.0  # seconds between two progress reports


def _run_maven(command: list[str], what: str, say: Callable[[str], None]) -> tuple[int, str]:
    """Run Maven to the end and return its exit code and output, reporting through ``say``,
    at most every few seconds, how many files (and megabytes) it has downloaded so far. An
    interruption stops Maven before it propagates."""
    lines: list[str] = []
    files, size = 0, 0.0
    last = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True, errors="replace")
    try:
        for line in proc.stdout or ():
            lines.append(line)
            found = _DOWNLOADED.search(line)
            if found is None:
                continue
            files += 1
            size += float(found.group(1).replace(",", "")) * _DOWNLOAD_UNITS[found.group(2)]
            if time.monotonic() - last >= _PROGRESS_EVERY:
                last = time.monotonic()
                say(f"resolving {what} from Maven Central: {files} files ({size / 1e6:.1f} MB) downloaded so far...")
        return proc.wait(), "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# What Maven (its HTTP transport, Java's networking) says when it cannot reach a repository.
_NETWORK_TROUBLE = re.compile(r"Could not transfer|transfer failed|UnknownHost|Unknown host|Network is unreachable|"
                              r"Connection refused|Connect to \S+ .*failed|timed out|No route to host", re.IGNORECASE)
_MAVEN_BOILERPLATE = re.compile(r"^\[ERROR\]\s*$|re-run Maven|Re-run Maven|\[Help \d+\]|please read the following")


def _maven_failure(what: str, code: int, output: str) -> str:
    """Why Maven failed, in a user's terms: a repository it could not reach is said first (a
    first start without network, or behind a proxy Maven is not told of), then Maven's own
    errors and warnings."""
    said = [line for line in re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines()
            if line.startswith(("[ERROR]", "[WARNING]")) and not _MAVEN_BOILERPLATE.search(line)]
    said = list(dict.fromkeys(line[:400] for line in said))
    if _NETWORK_TROUBLE.search(output):
        text = "\n".join([line for line in said if _NETWORK_TROUBLE.search(line)
                          and "previous attempt" not in line][-3:])
        return (f"Maven could not download the jars of {what} (exit {code}): it could not reach its repository "
                "(Maven Central, https://repo.maven.apache.org/maven2, unless ~/.m2/settings.xml names a mirror). "
                "Check the network; behind a proxy, give Maven the proxy in ~/.m2/settings.xml (it does not read "
                "HTTPS_PROXY). Nothing was cached: the next `graphmd neo4j start` tries again. Maven said:\n" + text)
    text = "\n".join(said[-12:]) or output[-2000:]
    return f"Maven could not resolve the jars of {what} (exit {code}):\n{text}"


@dataclasses.dataclass(frozen=True)
class ServerStatus:
    """What `graphmd neo4j status` reports."""

    running: bool
    pid: int | None
    uri: str
    http_url: str
    home: Path
    data_dir: Path
    version: str
    log: Path
    started_before: bool = True  # a start has succeeded in this home (it keeps that start's ports)

    def lines(self) -> list[str]:
        """Human-readable lines, one fact each."""
        state = (f"running (pid {self.pid})" if self.running else "stopped" if self.started_before
                 else "stopped; no start has succeeded in this home yet, so the ports below are the ones a start "
                      "without --bolt-port and --http-port would take")
        return [
            f"Neo4j {self.version}: {state}",
            f"Bolt URI:      {self.uri}",
            f"Neo4j Browser: {self.http_url}/browser/",
            f"data dir:      {self.data_dir}",
            f"log:           {self.log}",
        ]


def _java_major(java: str) -> tuple[int | None, str]:
    """The major version ``java -version`` reports (None when it does not run or say one),
    and what it said (or why it did not run), for messages."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, str(getattr(error, "strerror", None) or error)
    said = (out.stderr + out.stdout).strip()
    match = re.search(r'version "(?:1\.)?(\d+)', said)
    if match is None:
        return None, f"`java -version` exited {out.returncode}" + (f" and printed: {said[:200]}" if said else
                                                                    " printing nothing")
    return int(match.group(1)), said


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block; another process
    or thread asking for it waits. The lock goes with the process, however it ends."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _server_args(pid: int) -> list[str] | None:
    """The command-line arguments of process ``pid`` if it is a Neo4j server (graphmd's or
    any started with Neo4j's entry point), else None."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    args = raw.decode(errors="replace").split("\0")
    return args if _ENTRY_POINT in args else None


def _servers() -> Iterator[tuple[int, Path]]:
    """(pid, home) of every Neo4j server started with graphmd's command line on this machine."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        args = _server_args(int(entry.name))
        homes = [a.removeprefix("--home-dir=") for a in args or [] if a.startswith("--home-dir=")]
        if homes and not _has_exited(int(entry.name)):
            yield int(entry.name), Path(homes[0])


_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}


def _bytes(size: str) -> int:
    """A size _size accepted (``512m``, ``4g``, ``1073741824``) in bytes."""
    unit = size[-1].lower() if size[-1].isalpha() else ""
    return int(size.rstrip("kKmMgG")) * _UNITS[unit]


def _memory() -> tuple[int, int] | None:
    """(available, total) memory in bytes from /proc/meminfo; None where there is none."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        return int(fields["MemAvailable"].split()[0]) * 1024, int(fields["MemTotal"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port(value: object, field: str) -> int:
    """``value`` as a TCP port.

    Raises:
        InvalidArgumentError: it is no integer in 1..65535 (``field`` named).
    """
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise InvalidArgumentError(f"{field}: {value!r} is not a TCP port (1-65535)", field=field)
    return value


_SIZE = re.compile(r"[1-9][0-9]*[kKmMgG]?")


def _size(value: object, field: str) -> str:
    """``value`` as a JVM/Neo4j memory size (``512m``, ``4g``, ``1073741824``).

    Raises:
        InvalidArgumentError: it is not a number with an optional k, m or g (``field`` named).
    """
    text = str(value)
    if not _SIZE.fullmatch(text):
        raise InvalidArgumentError(f"{field}: {text!r} is not a memory size such as 512m or 4g", field=field)
    return text


def _last_setting(saved: dict[str, Any], key: str, default: Any) -> Any:
    """The setting ``key`` of the last start, or ``default`` when none or an invalid one is saved."""
    check = _port if key.endswith("_port") else _size
    try:
        return check(saved[key], key) if key in saved else default
    except InvalidArgumentError:
        return default


class LocalNeo4j:
    """One local Neo4j server: its home directory, ports and password.

    ``home`` holds conf/, data/, logs/ and the pid file (default: <user data dir>/neo4j).
    The password comes from the argument, GRAPHMD_NEO4J_PASSWORD, or the config file;
    when none is given the first start generates one and records it in the config file
    (mode 0600) with the URI, so ``MetadataStore()`` connects without arguments.
    ``settings`` adds neo4j.conf settings (e.g. ``{"db.memory.transaction.max": "64m"}``)
    to the ones graphmd writes, or overrides them.
    """

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        bolt_port: int | None = None,
        http_port: int | None = None,
        password: str | None = None,
        heap: str | None = None,
        pagecache: str | None = None,
        record_in_config: bool = True,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        config = read_config()
        # The config records the home of the server last started, so status and stop (and a
        # plain start) find it without --home.
        self.home = Path(home or os.environ.get("GRAPHMD_NEO4J_HOME")
                         or (config.get("home") if record_in_config else None) or data_dir() / "neo4j").resolve()
        saved = self._saved()
        # A value given is checked; one saved by an earlier start is used only if it is valid.
        self.bolt_port = (_port(bolt_port, "bolt_port") if bolt_port is not None
                          else _last_setting(saved, "bolt_port", 7687))
        self.http_port = (_port(http_port, "http_port") if http_port is not None
                          else _last_setting(saved, "http_port", 7474))
        if self.bolt_port == self.http_port:
            raise InvalidArgumentError(f"http_port: {self.http_port} is the Bolt port too; Neo4j listens on two ports, "
                                       "give two", field="http_port")
        # Each home keeps its own password (in its state file): the config file's is another
        # home's once a second home has been started.
        recorded_home = config.get("home")
        config_is_ours = record_in_config and (recorded_home is None or Path(str(recorded_home)).resolve() == self.home)
        self._password_from = next(
            (origin for origin, value in (("the --password argument", password),
                                         ("GRAPHMD_NEO4J_PASSWORD", os.environ.get("GRAPHMD_NEO4J_PASSWORD")),
                                         (str(config_path()), config.get("password") if config_is_ours else None),
                                         (str(self._state_file), saved.get("password"))) if value),
            None)
        self._password = password or os.environ.get("GRAPHMD_NEO4J_PASSWORD") or (
            config.get("password") if config_is_ours else None) or saved.get("password")
        # Sizes, as ports, are those of the last start unless given (1g and 512m at first).
        self.heap = _size(heap, "heap") if heap is not None else _last_setting(saved, "heap", "1g")
        self.pagecache = (_size(pagecache, "pagecache") if pagecache is not None
                          else _last_setting(saved, "pagecache", "512m"))
        self.record_in_config = record_in_config
        self.settings = dict(settings or {})
        for key, value in self.settings.items():
            if "\n" in key + value or "=" in key or not key.strip():
                raise InvalidArgumentError(f"settings: {key!r}={value!r} is not one neo4j.conf line", field="settings")

    # --- paths --------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        """The Bolt URI of this server."""
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def http_url(self) -> str:
        """The HTTP base URL (Neo4j Browser is at /browser/)."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def password(self) -> str | None:
        """The neo4j user's password (set by the first start when none was given)."""
        return self._password

    @property
    def log_file(self) -> Path:
        """The server's own log (neo4j.log: startup, shutdown, errors)."""
        return self.home / "logs" / "neo4j.log"

    @property
    def _console_file(self) -> Path:
        """What the JVM printed (a JVM that cannot start says why only here)."""
        return self.home / "logs" / "console.log"

    @property
    def _pid_file(self) -> Path:
        return self.home / "run" / "graphmd-neo4j.pid"

    @property
    def _state_file(self) -> Path:
        return self.home / "graphmd-server.json"

    def has_home(self) -> bool:
        """Whether a server was ever set up in ``home`` (a start writes its neo4j.conf there)."""
        return (self.home / "conf" / "neo4j.conf").exists() or self._state_file.exists()

    def _saved(self) -> dict[str, Any]:
        try:
            saved = json.loads(self._state_file.read_text())
        except (OSError, ValueError):  # none yet, or a home that is no directory (start says so)
            return {}
        return saved if isinstance(saved, dict) else {}

    @staticmethod
    def jars_dir() -> Path:
        """Where the server's jars are cached."""
        return cache_dir() / f"neo4j-{NEO4J_VERSION}" / "lib"

    @staticmethod
    def jars_cached() -> bool:
        """Whether the server's jars are in the cache already (a start runs no Maven)."""
        return (LocalNeo4j.jars_dir().parent / "complete").exists()

    # --- jars ---------------------------------------------------------------------------

    def ensure_jars(self, say: Callable[[str], None] = lambda _: None) -> Path:
        """Resolve the server's jars with Maven unless cached; returns their directory.

        Raises:
            FailedPreconditionError: mvn is missing (and nothing is cached) or Maven failed.
        """
        return resolve_jars(_POM, self.jars_dir(), f"Neo4j {NEO4J_VERSION} and Neo4j Browser {BROWSER_VERSION}",
                            say=say)

    # --- lifecycle ----------------------------------------------------------------------

    def _write_conf(self) -> Path:
        conf_dir = self.home / "conf"
        if not self.home.exists():  # a home of its own: the store and its logs are the user's alone
            self.home.mkdir(parents=True, mode=0o700)
        for sub in ("conf", "data", "logs", "run", "import", "plugins"):
            (self.home / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        settings = {
            "server.default_listen_address": "127.0.0.1",
            "server.bolt.listen_address": f"127.0.0.1:{self.bolt_port}",
            "server.bolt.advertised_address": f"127.0.0.1:{self.bolt_port}",
            "server.http.listen_address": f"127.0.0.1:{self.http_port}",
            "server.http.advertised_address": f"127.0.0.1:{self.http_port}",
            "server.https.enabled": "false",
            "server.directories.data": str(self.home / "data"),
            "server.directories.logs": str(self.home / "logs"),
            "server.directories.run": str(self.home / "run"),
            "server.directories.import": str(self.home / "import"),
            "server.directories.plugins": str(self.home / "plugins"),
            "dbms.security.auth_enabled": "true",
            "server.memory.heap.max_size": self.heap,
            "server.memory.pagecache.size": self.pagecache,
            "dbms.usage_report.enabled": "false",
            # Transaction logs: Community Edition has no incremental backup to replay them, so
            # past what recovery needs they only take disk. Neo4j's defaults (256 MB files,
            # preallocated, for each of the two databases; kept for days) took 0.5 GB on an
            # empty home and 11 GB on a day's benchmark runs; these keep ~130 MB and at most
            # ~1 GB.
            "db.tx_log.rotation.size": "64M",
            "db.tx_log.rotation.retention_policy": "1G size",
            **self.settings,
        }
        text = "# Written by graphmd on every start; edit graphmd's options, not this file.\n"
        text += "".join(f"{k}={v}\n" for k, v in settings.items())
        (conf_dir / "neo4j.conf").write_text(text)
        return conf_dir

    def pid(self) -> int | None:
        """The pid of this home's server if it runs: the one its pid file names when that
        process is this home's Neo4j, else one found among the machine's processes (its pid
        file lost, or overwritten by a start that raced it)."""
        try:
            pid: int | None = int(self._pid_file.read_text().strip())
        except (OSError, ValueError):
            pid = None
        if pid is not None and self._is_ours(pid) and not _has_exited(pid):
            return pid
        # The pid file's process is gone, or the pid was reused by an unrelated process.
        return next((found for found, home in _servers() if home == self.home), None)

    def _is_ours(self, pid: int) -> bool:
        """Whether process ``pid`` is the Neo4j of this home (its exact --home-dir, not a home
        whose path merely starts with this one's)."""
        return f"--home-dir={self.home}" in (_server_args(pid) or [])

    def status(self) -> ServerStatus:
        """Whether the server runs, and where."""
        pid = self.pid()
        return ServerStatus(pid is not None, pid, self.uri, self.http_url, self.home, self.home / "data",
                            NEO4J_VERSION, self.log_file, started_before=bool(self._saved()))

    def start(self, *, timeout: float = 120.0, say: Callable[[str], None] = lambda _: None) -> ServerStatus:
        """Start the server unless it runs; wait until Bolt accepts the password. Starts of one
        home run one at a time: one that finds the server started meanwhile returns its status.
        A start that fails or is interrupted stops the server it launched and leaves the
        config file and the home's recorded settings as they were.

        Raises:
            InvalidArgumentError: a password shorter than Neo4j accepts (field password).
            FailedPreconditionError: java or mvn missing, a port taken by another program, a
                heap larger than the memory available, a home that cannot be written.
            UnavailableError: the server exited during start or did not answer within
                ``timeout`` (its reason and its log of this start are in the message), or
                it refuses logins for a few seconds after wrong passwords (field password).
        """
        if self.pid() is not None:
            return self.status()
        self._check_password()
        self._check_heap()
        java = find_java()
        lib = self.ensure_jars(say)
        self._check_ports()  # before the home is made; again once this start holds the home
        with self._home_errors():
            if not self.home.exists():  # a home of its own: the store and its logs are the user's alone
                self.home.mkdir(parents=True, mode=0o700)
            (self.home / "run").mkdir(exist_ok=True, mode=0o700)
            lock = _locked(self.home / "run" / "graphmd-start.lock")
        with lock:
            if self.pid() is not None:  # started by another start while this one waited
                return self.status()
            self._check_ports()
            with self._home_errors():
                conf_dir = self._write_conf()
                self._console_file.parent.mkdir(parents=True, exist_ok=True)
                log = self._console_file.open("ab")
            if self._password is None:
                self._password = secrets.token_urlsafe(18)
            password = self._password
            self._log_offsets = {path: _size_of(path) for path in (self._console_file, self.log_file)}
            cmd = [
                java, f"-Xmx{self.heap}", f"-Xms{self.heap}", *_JVM_OPTIONS,
                f"-XX:ErrorFile={self.home / 'logs' / 'hs_err_pid%p.log'}", "-cp", f"{lib}/*", _ENTRY_POINT,
                f"--home-dir={self.home}", f"--config-dir={conf_dir}",
            ]
            say(f"starting Neo4j {NEO4J_VERSION} on {self.uri} (data in {self.home / 'data'})")
            with log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        cwd=self.home, start_new_session=True)
            before = self._state_file.read_text() if self._state_file.exists() else None
            try:
                self._pid_file.write_text(f"{proc.pid}\n")
                # The password is kept with its home: the config file holds only the last home's.
                _write_private(self._state_file, json.dumps({
                    "bolt_port": self.bolt_port, "http_port": self.http_port, "heap": self.heap,
                    "pagecache": self.pagecache, "version": NEO4J_VERSION, "password": password}))
                self._wait_ready(proc, timeout, password)
            except BaseException:
                if proc.poll() is None:
                    self._stop_pid(proc.pid, 60.0, say)
                proc.wait()
                self._pid_file.unlink(missing_ok=True)
                # A start that failed leaves the settings of the last good one for the next start.
                if before is None:
                    self._state_file.unlink(missing_ok=True)
                else:
                    _write_private(self._state_file, before)
                raise
        self.record()
        return self.status()

    def record(self) -> bool:
        """Point the config file at this server, as its start does: its URI, its home and the
        password it was started with (kept in the home). False, writing nothing, when this
        LocalNeo4j does not record in the config file or no start has succeeded here."""
        password = self._saved().get("password")
        if not self.record_in_config or not isinstance(password, str) or not password:
            return False
        write_config({"uri": self.uri, "user": "neo4j", "password": password, "home": str(self.home)})
        return True

    def _check_password(self) -> None:
        """Refuse, before anything starts, a password Neo4j would refuse to set.

        Raises:
            InvalidArgumentError: it is shorter than dbms.security.auth_minimum_password_length
                (8 unless a setting says otherwise); field password.
        """
        try:
            least = int(self.settings.get("dbms.security.auth_minimum_password_length", "8"))
        except ValueError:
            least = 8
        if self._password is not None and len(self._password) < least:
            raise InvalidArgumentError(
                f"password: the one from {self._password_from} has {len(self._password)} characters; Neo4j needs at "
                f"least {least}: give a longer one, or none to have graphmd generate one", field="password")

    def _check_heap(self) -> None:
        """Refuse a heap the machine cannot give: the JVM takes (and touches) all of it at start.

        Raises:
            FailedPreconditionError: the heap is larger than the memory available now (field heap).
        """
        memory = _memory()
        if memory is not None and _bytes(self.heap) > memory[0]:
            available, total = (round(n / 2**30, 1) for n in memory)
            raise FailedPreconditionError(
                f"heap: {self.heap} is more than this machine's available memory ({available} GiB free of "
                f"{total} GiB), and Neo4j's JVM takes its whole heap at start: give a smaller --heap",
                field="heap")

    def _check_ports(self) -> None:
        """Refuse ports that something already listens on, naming a graphmd Neo4j that does.

        Raises:
            FailedPreconditionError: a port is taken (field bolt_port or http_port).
        """
        for port, name in ((self.bolt_port, "Bolt"), (self.http_port, "HTTP")):
            if not _port_open(port):
                continue
            option = f"--{name.lower()}-port"
            holder = next(((pid, home) for pid, home in _servers()
                           if home != self.home and port in _ports_of(home)), None)
            if holder is not None:
                pid, home = holder
                raise FailedPreconditionError(
                    f"port {port} ({name}) is taken by the Neo4j of home {home} (pid {pid}): choose another with "
                    f"{option}, or stop that one first with `graphmd neo4j stop --home {home}`",
                    field=f"{name.lower()}_port")
            raise FailedPreconditionError(
                f"port {port} ({name}) is in use by another program; choose another with {option}",
                field=f"{name.lower()}_port")

    @contextlib.contextmanager
    def _home_errors(self) -> Iterator[None]:
        """Turn a home that cannot be made or written into an error naming it.

        Raises:
            FailedPreconditionError: an OSError in the block (field home).
        """
        try:
            yield
        except OSError as error:
            where = f" ({error.filename})" if error.filename else ""
            raise FailedPreconditionError(
                f"cannot use {self.home} as a Neo4j home: {error.strerror or error}{where}; give --home a "
                "directory you can write (or a path where one can be made)", field="home") from error

    def _wait_ready(self, proc: subprocess.Popen[bytes], timeout: float, password: str) -> None:
        deadline = time.monotonic() + timeout
        self._wait_port(proc, self.bolt_port, self.uri, deadline, timeout)
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            try:
                self._authenticate(password)
                break
            except (UnavailableError, AbortedError) as error:  # not ready yet: Bolt, or the system database
                last_error = error.__cause__ or error
                time.sleep(0.5)
        else:
            raise UnavailableError(f"Neo4j at {self.uri} did not accept connections: {last_error}")
        # The default database comes online after Bolt and the system database (seconds later on
        # a big store): calls made in between failed, so "running" waits for it too.
        while True:
            try:
                with map_driver_errors(self.uri), neo4j.GraphDatabase.driver(self.uri, auth=("neo4j", password)) as driver:
                    driver.execute_query("RETURN 1")
                break
            except (UnavailableError, AbortedError) as error:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise UnavailableError(f"Neo4j at {self.uri} started, but its database did not come online "
                                           f"within {timeout:.0f}s: {error.message}\n{self._log_tail()}") from error
                time.sleep(0.25)
        # HTTP (Neo4j Browser) opens a few seconds after Bolt: "running" means both answer.
        self._wait_port(proc, self.http_port, self.http_url, deadline, timeout)

    def _wait_port(self, proc: subprocess.Popen[bytes], port: int, address: str, deadline: float, timeout: float) -> None:
        """Wait until ``port`` accepts connections; raise when the server exits or time runs out."""
        while not _port_open(port):
            if proc.poll() is not None:
                cause = self._start_failure()
                raise UnavailableError(f"Neo4j exited with code {proc.returncode} during start"
                                       + (f": {cause}" if cause else "") + f"\n{self._log_tail()}", field="home")
            if time.monotonic() > deadline:
                raise UnavailableError(f"Neo4j did not open {address} within {timeout:.0f}s:\n{self._log_tail()}")
            time.sleep(0.25)

    def _authenticate(self, password: str) -> None:
        """Check the password works; on a new database, set it from neo4j's default.

        Raises:
            FailedPreconditionError: the home's database has another password (field password).
            InvalidArgumentError: Neo4j's rules refuse the password (field password).
            UnavailableError: Neo4j does not answer yet, or its system database is not
                available yet (_wait_ready tries again).
            UnauthenticatedError: it refuses logins for a few seconds after wrong passwords
                (field password); map_driver_errors' other errors for whatever else the
                driver raises.
        """
        with map_driver_errors(self.uri):
            with neo4j.GraphDatabase.driver(self.uri, auth=("neo4j", password)) as driver:
                try:
                    driver.verify_connectivity()
                    return
                except neo4j_errors.AuthError:
                    pass
            with neo4j.GraphDatabase.driver(self.uri, auth=("neo4j", "neo4j")) as driver:
                try:
                    driver.execute_query("ALTER CURRENT USER SET PASSWORD FROM 'neo4j' TO $new",
                                         new=password, database_="system")
                except neo4j_errors.AuthError as error:
                    raise FailedPreconditionError(self._other_password(password), field="password") from error
                except neo4j_errors.ClientError as error:
                    if error.code != "Neo.ClientError.Statement.ArgumentError":  # not the password's rules
                        raise
                    raise InvalidArgumentError(f"password: Neo4j refused it: {error.message}",
                                               field="password") from None

    def _other_password(self, password: str) -> str:
        """Why a start with ``password`` was refused, and how to go on: a home keeps the
        password of its first start (the new database's), whatever is given later."""
        config = read_config() if self.record_in_config else {}
        ours = config.get("home") is not None and Path(str(config["home"])).resolve() == self.home
        recorded = [(str(where), value) for where, value in ((config_path(), config.get("password") if ours else None),
                                                             (self._state_file, self._saved().get("password")))
                    if value and value != password]
        if recorded and self._password_from in ("the --password argument", "GRAPHMD_NEO4J_PASSWORD"):
            how = (f"start it without --password (and without GRAPHMD_NEO4J_PASSWORD): {recorded[0][0]} records "
                   "its password")
        elif self._password_from in ("the --password argument", "GRAPHMD_NEO4J_PASSWORD"):
            how = "start it with that password (--password or GRAPHMD_NEO4J_PASSWORD)"
        else:
            tried = (f"the one recorded in {self._password_from}" if self._password_from
                     else "graphmd generated one (none is recorded for this home)")
            how = f"{tried}; start it with its own password (--password or GRAPHMD_NEO4J_PASSWORD)"
        return (f"the Neo4j in {self.home} keeps the password of its first start, and the one tried now is another: "
                f"{how}; or, to start afresh with the new password, delete {self.home / 'data'} (the store's data "
                "goes with it)")

    def stop(self, *, timeout: float = 60.0, say: Callable[[str], None] = lambda _: None) -> bool:
        """Stop the server this home started (never another process) and return once its
        process has exited: SIGTERM, then SIGKILL (said through ``say``) when it still runs
        ``timeout`` seconds later. Returns whether one ran.

        Raises:
            DeadlineExceededError: the process outlived SIGKILL by 10 seconds (field timeout).
            FailedPreconditionError: the server is another user's, this one may not signal it.
        """
        pid = self.pid()
        if pid is None:
            self._pid_file.unlink(missing_ok=True)
            return False
        self._stop_pid(pid, timeout, say)
        self._pid_file.unlink(missing_ok=True)
        return True

    def _stop_pid(self, pid: int, timeout: float, say: Callable[[str], None]) -> None:
        """SIGTERM process ``pid``, SIGKILL it ``timeout`` seconds later; return once it has exited."""
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        except PermissionError as error:
            raise FailedPreconditionError(f"the Neo4j of {self.home} (pid {pid}) is another user's: stop it as that "
                                          "user", field="home") from error
        if not _wait_exit(pid, timeout):
            say(f"Neo4j (pid {pid}) did not exit within {timeout:g}s of SIGTERM: sending SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if not _wait_exit(pid, 10.0):
                raise DeadlineExceededError(f"Neo4j (pid {pid}) still runs {timeout:g}s after SIGTERM and 10s "
                                            "after SIGKILL", field="timeout")

    def _logged(self, path: Path) -> str:
        """What ``path`` (the console or the server log) got since this start began: the
        lines of earlier starts are not this one's reasons."""
        offset = getattr(self, "_log_offsets", {}).get(path, 0)
        try:
            with path.open("rb") as handle:
                if offset > path.stat().st_size:
                    offset = 0  # the log was rotated meanwhile
                handle.seek(offset)
                return handle.read().decode(errors="replace")
        except OSError:
            return ""

    def _start_failure(self) -> str | None:
        """Why this start failed, to lead its error with: the JVM's want of memory (with what
        to do), else the first exception or ERROR line it logged (an unknown --setting, a
        port taken, a store it cannot open) with the deepest cause Neo4j gave for it."""
        texts = [self._logged(path) for path in (self._console_file, self.log_file)]
        if any(_NO_MEMORY.search(text) for text in texts):
            return (f"the JVM could not get the {self.heap} of memory its heap needs: give a smaller --heap (or "
                    "free memory)")
        for text in texts:
            for line in text.splitlines():
                found = _FAILURE_LINE.search(line)
                if found:
                    first = (found.group(1) or found.group(2)).strip()
                    causes = _ROOT_CAUSE.findall(text)
                    return f"{first} (cause: {causes[-1].strip()})" if causes and causes[-1] not in first else first
        return None

    def _log_tail(self, lines: int = 30) -> str:
        tails = []
        for path in (self._console_file, self.log_file):
            tail = self._logged(path).strip("\n").splitlines()[-lines:]
            if tail:
                tails.append(f"--- {path} (this start) ---\n" + "\n".join(tail))
        return "\n".join(tails) or "(nothing logged)"


# `Exception in thread "main" java.lang.IllegalArgumentException: Unrecognized setting ...`, or
# `2026-12-04 ... ERROR [o.n.s.CommunityBootstrapper] Failed to start Neo4j ...`.
_ROOT_CAUSE = re.compile(r"^Caused by: [\w.$]+: (.+)$", re.MULTILINE)
_NO_MEMORY = re.compile(r"insufficient memory for the Java Runtime|Could not reserve enough space|"
                        r"Cannot allocate memory")
_FAILURE_LINE = re.compile(r"^(?:Exception in thread \S+ )?[\w.$]+(?:Exception|Error): (.+)$|\bERROR\s+(?:\[[^\]]*\]\s+)?(.+)$")


def _ports_of(home: Path) -> tuple[int, int]:
    """The Bolt and HTTP ports the server of ``home`` was started with."""
    other = LocalNeo4j(home, record_in_config=False)
    return other.bolt_port, other.http_port


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only from the first byte on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file that was there keeps its mode otherwise
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _has_exited(pid: int) -> bool:
    """Whether every thread of process ``pid`` has ended; a zombie waiting to be reaped has (it
    holds no port, file or memory). The first thread alone does not tell: a JVM's main thread
    can end while its other threads go on shutting the server down."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return True
    for task in tasks:
        try:
            state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # that thread has just gone
        if state not in ("Z", "X"):
            return False
    return True


def _wait_exit(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for process ``pid`` to exit; whether it did."""
    deadline = time.monotonic() + timeout
    while not _has_exited(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
