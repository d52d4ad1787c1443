"""Micro-benchmark of ``Scanner.scan`` (not collected by pytest).

Run: ``python -m tests.detectors.bench_scanner`` from the repository root. Prints the
best-of-N microseconds per call for the four reference inputs, and the NER cost per
message when the spaCy model is installed. On a shared machine take the lowest of a few
runs: other processes inflate the numbers, never deflate them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from pipeline.detection.ner import NerDetector
from pipeline.detection.scanner import Scanner

RECORD = {
    "ts": "2024-05-01T12:00:00.123Z", "level": "INFO", "service": "order-service",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
    "msg": "order created successfully for tenant acme in region cn-east-1 after 3 retries",
    "order_id": "ORD20240501123456", "duration_ms": 123, "bytes": 5321, "status": 200,
    "path": "/api/v1/orders/12345/items", "host": "api-gw-7f9c8d6b5-x2x9z", "pid": 4312,
    "epoch": 1700000000000, "build": "TP1A.220624.014", "ua_family": "Chrome",
    "version": "6.1.1.0", "thread": "http-nio-8080-exec-12",
    "logger": "com.example.order.OrderController",
}
NO_PII = json.dumps(RECORD)
WITH_PII = json.dumps(
    {**RECORD, "msg": "order created for 13800138000 from 203.0.113.9 mail bob@example.com"}
)
NGINX = (
    '203.0.113.9 - - [01/May/2024:12:00:00 +0000] "GET /api/v1/orders/12345?page=2 HTTP/1.1" '
    '200 5321 "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"'
)
SHORT = ["INFO", "order-service", "2024-05-01T12:00:00Z"]


def best_us(call: Callable[[], object], number: int, repeat: int = 7) -> float:
    """Return the best per-call time in microseconds over ``repeat`` batches."""
    call()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            call()
        best = min(best, time.perf_counter() - start)
    return best / number * 1e6


def main() -> None:
    """Print the benchmark table."""
    scanner = Scanner()
    print(
        f"(a) {len(NO_PII)}-byte JSON message, no PII : "
        f"{best_us(lambda: scanner.scan(NO_PII), 2000):7.1f} us"
    )
    print(
        f"(b) {len(WITH_PII)}-byte JSON message, 3 PII : "
        f"{best_us(lambda: scanner.scan(WITH_PII), 2000):7.1f} us"
    )
    print(
        f"(c) {len(NGINX)}-byte nginx access line    : "
        f"{best_us(lambda: scanner.scan(NGINX), 2000):7.1f} us"
    )
    for value in SHORT:
        print(
            f"(d) {value!r:36}: "
            f"{best_us(lambda value=value: scanner.scan(value), 50000):7.2f} us"
        )
    ner = NerDetector()
    if ner.available() and ner.load():
        text = "User Emily Johnson reported that the checkout page failed twice on mobile."
        print(
            f"NER, {len(text)}-char message            : "
            f"{best_us(lambda: ner.find(text), 50, 5) / 1000:7.2f} ms"
        )
    else:
        print("NER: model not installed, skipped")


if __name__ == "__main__":
    main()
