"""RSS of the gateway and upload roles while a large video streams through them, against raw GridFS.

Starts SecantusDB and the auth, upload and gateway roles as processes, streams a generated multipart
upload of SIZE MB through the gateway (never held in memory on either side), and samples each
role's RSS every 0.1 s. The baseline is the same bytes written straight into GridFS with GridFSStore
from this process. Run: `.venv/bin/python bench/upload_memory.py [--mb 500]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from gridfs import AsyncGridFSBucket

from harness import login, platform
from mp3converter.adapters import mongo
from mp3converter.adapters.gridfs_store import CHUNK_SIZE, GridFSStore

MB = 1_000_000
BLOCK = 1 << 20
BOUNDARY = "----mp3converter-bench-boundary-7d1f3a"
SAMPLE_SECONDS = 0.1
WATCHED = ("upload", "gateway")


def random_blocks(count: int = 8) -> list[bytes]:
    """A few random blocks, cycled with a counter so no two sent blocks are equal."""
    return [os.urandom(BLOCK) for _ in range(count)]


def file_chunks(size: int, blocks: list[bytes]) -> Iterator[bytes]:
    """`size` random-ish bytes, one block at a time."""
    sent = 0
    index = 0
    while sent < size:
        block = blocks[index % len(blocks)]
        piece = index.to_bytes(8, "big") + block[8 : min(BLOCK, size - sent)]
        piece = piece[: size - sent]
        sent += len(piece)
        index += 1
        yield piece


@dataclass
class MultipartBody:
    """A multipart/form-data body with one file part, generated while it is sent."""

    size: int
    blocks: list[bytes]
    sent: int = 0

    @property
    def head(self) -> bytes:
        """Everything before the file's bytes."""
        return (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()

    @property
    def tail(self) -> bytes:
        """Everything after the file's bytes."""
        return f"\r\n--{BOUNDARY}--\r\n".encode()

    @property
    def content_length(self) -> int:
        """Bytes of the whole body."""
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        for piece in (self.head, *file_chunks(self.size, self.blocks), self.tail):
            self.sent += len(piece)
            yield piece


@dataclass
class Sample:
    """RSS of the watched roles at one moment of the upload."""

    seconds: float
    sent: int
    rss: dict[str, int]


@dataclass
class Sampler:
    """Polls the RSS of some processes every SAMPLE_SECONDS in a thread."""

    processes: dict[str, psutil.Process]
    progress: Callable[[], int]
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _start: float = field(default_factory=time.perf_counter)

    def sample(self) -> Sample:
        """Take one sample now."""
        rss = {name: p.memory_info().rss for name, p in self.processes.items()}
        taken = Sample(time.perf_counter() - self._start, self.progress(), rss)
        self.samples.append(taken)
        return taken

    def run(self) -> None:
        """Sample until stopped."""
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Sample in a background thread for the duration."""
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()


def mib(value: int) -> str:
    """Bytes as MiB with one decimal."""
    return f"{value / (1 << 20):7.1f}"


@dataclass
class RawResult:
    """The baseline: wall time, and this process's RSS before and at its peak."""

    seconds: float
    rss_start: int
    rss_peak: int


async def raw_gridfs(url: str, size: int, blocks: list[bytes], *, pymongo: bool) -> RawResult:
    """Write the same bytes from this process, sampling its RSS: pymongo's GridFS or ours."""
    client = mongo.connect(url)
    try:
        store = GridFSStore(client["bench_raw"], "videos")
        bucket = AsyncGridFSBucket(client["bench_raw"], "videos", chunk_size_bytes=CHUNK_SIZE)
        written = 0

        async def chunks() -> AsyncIterator[bytes]:
            nonlocal written
            for chunk in file_chunks(size, blocks):
                written += len(chunk)
                yield chunk

        await client["bench_raw"].command("ping")
        sampler = Sampler({"bench": psutil.Process()}, lambda: written)
        before = sampler.sample()
        start = time.perf_counter()
        with sampler.running():
            if pymongo:
                grid_in = bucket.open_upload_stream("big.mp4", metadata={"bench": True})
                async for chunk in chunks():
                    await grid_in.write(chunk)
                await grid_in.close()
                file_id = str(grid_in._id)
            else:
                stored = await store.save(chunks(), filename="big.mp4", metadata={"bench": True})
                file_id = stored.file_id
        elapsed = time.perf_counter() - start
        peak = max(s.rss["bench"] for s in [*sampler.samples, sampler.sample()])
        await store.delete(file_id)
        return RawResult(elapsed, before.rss["bench"], peak)
    finally:
        await client.drop_database("bench_raw")
        await client.close()


def at_fraction(samples: list[Sample], total: int, fraction: float) -> Sample:
    """The first sample taken once `fraction` of the body was sent."""
    return next((s for s in samples if s.sent >= fraction * total), samples[-1])


def main() -> None:
    """Run the raw GridFS baseline, then the upload through the platform, and print both."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500, help="upload size in MB (10^6 bytes)")
    size = parser.parse_args().mb * MB
    blocks = random_blocks()
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp_name:
        tmp = Path(tmp_name)
        env = {"MAX_UPLOAD_BYTES": str(size + 16 * MB)}
        with platform(tmp, ["auth", "upload", "gateway"], env) as roles:
            url = roles.env["MONGODB_URL"]
            raw = asyncio.run(raw_gridfs(url, size, blocks, pymongo=False))
            raw_pymongo = asyncio.run(raw_gridfs(url, size, blocks, pymongo=True))
            gateway = f"http://127.0.0.1:{roles.ports['gateway']}"
            timeout = httpx.Timeout(connect=10, read=600, write=600, pool=10)
            with httpx.Client(base_url=gateway, timeout=timeout) as http:
                token = login(http)
                body = MultipartBody(size, blocks)
                watched = {name: psutil.Process(roles.processes[name].pid) for name in WATCHED}
                sampler = Sampler(watched, lambda: body.sent)
                before = sampler.sample()
                start = time.perf_counter()
                with sampler.running():
                    response = http.post(
                        "/upload",
                        content=iter(body),
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                            "Content-Length": str(body.content_length),
                        },
                    )
                elapsed = time.perf_counter() - start
                after = sampler.sample()
                response.raise_for_status()
                job = response.json()
    report(size, raw, elapsed, before, after, sampler.samples, body.content_length, job)
    pymongo_growth = raw_pymongo.rss_peak - raw_pymongo.rss_start
    print(
        f"pymongo's own GridFS writer (AsyncGridFSBucket): {raw_pymongo.seconds:.2f} s "
        f"{size / MB / raw_pymongo.seconds:.1f} MB/s, peak-start {mib(pymongo_growth)} MiB "
        f"(it buffers up to 48 MB of chunks per file)"
    )


def report(
    size: int,
    raw: RawResult,
    elapsed: float,
    before: Sample,
    after: Sample,
    samples: list[Sample],
    total: int,
    job: dict[str, str],
) -> None:
    """Print throughput, the ratio to raw GridFS and the RSS profile of each role."""
    print(f"upload of {size / MB:.0f} MB through gateway -> upload -> GridFS (SecantusDB)")
    print(
        f"job {job['job_id']} {job['status']}; {len(samples)} RSS samples every {SAMPLE_SECONDS} s"
    )
    print(f"raw GridFSStore.save : {raw.seconds:7.2f} s  {size / MB / raw.seconds:7.1f} MB/s")
    print(f"through the platform : {elapsed:7.2f} s  {size / MB / elapsed:7.1f} MB/s")
    ratio = elapsed / raw.seconds
    print(f"ratio platform / raw GridFS: time {ratio:.2f}x, throughput {1 / ratio:.2f}x")
    points = [("start", before)]
    points += [(f"{int(f * 100)}% sent", at_fraction(samples, total, f)) for f in (0.25, 0.5, 0.75)]
    points += [("100% stored", after)]
    print(f"{'RSS MiB':<12}" + "".join(f"{name:>10}" for name in WATCHED))
    for label, sample in points:
        print(f"{label:<12}" + "".join(f"{mib(sample.rss[name]):>10}" for name in WATCHED))
    peaks = {name: max(s.rss[name] for s in samples) for name in WATCHED}
    print(f"{'peak':<12}" + "".join(f"{mib(peaks[name]):>10}" for name in WATCHED))
    growth = {name: peaks[name] - before.rss[name] for name in WATCHED}
    print(f"{'peak-start':<12}" + "".join(f"{mib(growth[name]):>10}" for name in WATCHED))
    share = {name: growth[name] / size for name in WATCHED}
    print("peak growth / upload size: " + ", ".join(f"{n} {v:.1%}" for n, v in share.items()))
    raw_growth = raw.rss_peak - raw.rss_start
    print(
        f"baseline RSS of this process around raw GridFSStore.save: start {mib(raw.rss_start)}, "
        f"peak {mib(raw.rss_peak)}, peak-start {mib(raw_growth)} MiB"
    )
    upload_growth = growth["upload"]
    print(f"upload role peak growth / raw GridFS peak growth: {upload_growth / raw_growth:.2f}")


if __name__ == "__main__":
    main()
