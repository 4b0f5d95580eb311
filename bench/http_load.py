"""A closed-loop HTTP load generator: N threads, one ``requests.Session`` each, for a fixed time.

Threads in this process, not in the suite's: the suite's eventlet hub must spend its CPU on
the requests only. The generator's own CPU is measured too, because with the GIL one
Python process tops out near one core and could become the bottleneck instead of the suite.
"""

import threading
import time
from dataclasses import dataclass, field

import requests


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    latencies_ms: list = field(default_factory=list)
    failures: int = 0
    first_failure: str | None = None
    generator_cpu_seconds: float = 0.0

    @property
    def completed(self):
        return len(self.latencies_ms)

    @property
    def per_second(self):
        return self.completed / self.seconds

    def percentile(self, percent):
        """Nearest-rank percentile of the successful requests' latencies."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return None
        rank = max(1, -(-len(ordered) * percent // 100))
        return ordered[int(rank) - 1]


def _drive(send, deadline, start, result, lock):
    session = requests.Session()
    latencies, failures, first_failure = [], 0, None
    start.wait()
    while time.perf_counter() < deadline[0]:
        began = time.perf_counter()
        try:
            response = send(session)
            ok = response.ok
            problem = f"HTTP {response.status_code}: {response.text[:200]}"
        except requests.RequestException as error:
            ok, problem = False, repr(error)
        if ok:
            latencies.append((time.perf_counter() - began) * 1000)
        else:
            failures += 1
            first_failure = first_failure or problem
    with lock:
        result.latencies_ms.extend(latencies)
        result.failures += failures
        result.first_failure = result.first_failure or first_failure


def run_load(send, concurrency, seconds):
    """Calls ``send(session)``, which returns a Response, from ``concurrency`` threads for
    ``seconds``."""
    result = LoadResult(concurrency, seconds)
    start, lock, deadline = threading.Barrier(concurrency + 1), threading.Lock(), [0.0]
    threads = [
        threading.Thread(target=_drive, args=(send, deadline, start, result, lock), daemon=True)
        for _ in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    cpu_before = time.process_time()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    # Requests in flight at the deadline finish; the real elapsed time keeps the rate honest.
    result.seconds = time.perf_counter() - began
    result.generator_cpu_seconds = time.process_time() - cpu_before
    return result
