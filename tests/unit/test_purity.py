"""The engine is pure: it imports neither Faust nor a Kafka client."""

import subprocess
import sys

ENGINE_MODULES = [
    "pipeline.core.engine",
    "pipeline.core.policy",
    "pipeline.operators",
    "pipeline.detection.scanner",
    "detectors",
]


def test_engine_modules_import_no_faust_or_kafka():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in ENGINE_MODULES)
        + (
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('faust', 'kafka', 'aiokafka', 'confluent_kafka', 'mode'))\n"
        )
        + "print(','.join(bad))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == ""
