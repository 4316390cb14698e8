import time
from tests.factories import World
from tests.conftest import _empty_tables

def test_probe(db):
    for i in range(3):
        t = time.perf_counter(); w = World.build(); t1 = time.perf_counter()
        app = w.application(); t2 = time.perf_counter()
        w.bring_to(app, "closed"); t3 = time.perf_counter()
        _empty_tables(); t4 = time.perf_counter()
        print(f"\nworld {t1-t:.3f} app {t2-t1:.3f} closed {t3-t2:.3f} empty {t4-t3:.3f}")
