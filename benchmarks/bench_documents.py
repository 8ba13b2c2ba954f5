"""Generate documents (文书) from the record: N issued measures' letters and N hazards' rectification notices,
each built from the database through the same functions the API calls and rendered to PDF and to DOCX.

    python -m benchmarks.bench_documents [--n 1000] [--url sqlite:///…] [--samples DIR]

Without --url a temporary SQLite file is migrated and filled (one bureau, one enterprise, N assigned hazards
and N issued 函告/通报/约谈/挂牌督办/曝光 in turn). --samples writes one document of each kind (PDF and DOCX)
for a reviewer to look at; they are not committed.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pypdf
from sqlalchemy import insert, select

from hazard_registry.auth.principal import SYSTEM
from hazard_registry.config import Settings
from hazard_registry.db import make_engine, make_sessionmaker
from hazard_registry.documents import content, render
from hazard_registry.hazards.models import Hazard
from hazard_registry.migrate import upgrade
from hazard_registry.reference import schemas as rs
from hazard_registry.reference import service as ref
from hazard_registry.reference.models import Industry, Standard
from hazard_registry.supervision.models import RUNG, Measure, SupervisionMeasure

REGION = "440305"
KINDS = list(Measure)


def seed(sm, n: int) -> tuple[list[int], list[int]]:
    with sm() as s:
        dept = ref.create_department(
            s,
            SYSTEM,
            rs.DepartmentCreate(
                code="BENCH-YJ", name="南山区应急管理局", region_code=REGION, is_default_lead=True,
                sectors=["hazardous_chemicals", "industry_trade"], head_name="刘科长", head_phone="0755-12345678",
            ),
        )  # fmt: skip
        ent = ref.create_enterprise(
            s,
            SYSTEM,
            rs.EnterpriseCreate(
                uscc="91440300MA5T0000" + "1N", name="南山测试化工有限公司", region_code=REGION, industry_code="26",
                principal_name="张三", principal_phone="13800138000",
            ),
        )  # fmt: skip
        industry = s.get(Industry, "26")
        std = next(x for x in s.scalars(select(Standard).order_by(Standard.id)) if x.clauses)
        found = date(2026, 3, 2)
        hazards = [
            {
                "number": f"{REGION}-2026-{i + 1:06d}", "grade": "major", "state": "assigned",
                "source": "inspection", "enterprise_id": ent.id, "industry_code": "26",
                "sector_code": industry.sector_code, "region_code": REGION, "department_id": dept.id,
                "clause_id": std.clauses[0].id, "title": f"储罐区紧急切断阀未投用（{i + 1}）",
                "description": "一级重大危险源罐区紧急切断阀长期处于手动状态，未与液位高高报警联锁。",
                "location": "罐区", "found_at": found, "reported_by_role": "regulator",
                "deadline": found + timedelta(days=60), "version": 1,
            }
            for i in range(n)
        ]  # fmt: skip
        hazard_ids = list(s.scalars(insert(Hazard).returning(Hazard.id), hazards))
        issued = datetime(2026, 5, 14, 2, tzinfo=UTC)
        measures = [
            {
                "dedup_key": f"bench:{i}", "measure": KINDS[i % len(KINDS)].value, "rung": RUNG[KINDS[i % len(KINDS)]],
                "state": "issued", "stall": "overdue", "target_kind": "enterprise", "target_enterprise_id": ent.id,
                "target_region_code": REGION, "hazard_id": hid, "issuer": "lead_department",
                "issuer_department_id": dept.id, "issuer_region_code": REGION, "sector_code": industry.sector_code,
                "needs_confirmation": False, "response_days": 10, "reason": "重大事故隐患整改逾期",
                "legal_basis": "《安全生产法》第四十一条", "document_authority": f"D{dept.id}",
                "document_number": f"南山区应急管理局督〔2026〕{i + 1}号", "proposed_at": issued, "issued_at": issued,
                "response_due": date(2026, 5, 24), "version": 2,
            }
            for i, hid in enumerate(hazard_ids)
        ]  # fmt: skip
        measure_ids = list(s.scalars(insert(SupervisionMeasure).returning(SupervisionMeasure.id), measures))
        s.commit()
        return measure_ids, hazard_ids


def pages(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def run(sm, measure_ids: list[int], hazard_ids: list[int], samples: Path | None) -> None:
    build, pdf_ms, docx_ms, sizes, page_counts = [], [], [], [], []
    written: set[str] = set()
    t_all = time.perf_counter()
    with sm() as s:
        jobs = [("m", i) for i in measure_ids] + [("h", i) for i in hazard_ids]
        for what, ident in jobs:
            t0 = time.perf_counter()
            if what == "m":
                doc = content.measure_document(s, SYSTEM, ident)
            else:
                doc = content.hazard_document(s, SYSTEM, ident)
            t1 = time.perf_counter()
            pdf = render.official_pdf(doc)
            t2 = time.perf_counter()
            docx = render.official_docx(doc)
            t3 = time.perf_counter()
            build.append(t1 - t0)
            pdf_ms.append(t2 - t1)
            docx_ms.append(t3 - t2)
            sizes.append(len(pdf))
            if len(page_counts) < 50 or doc.kind not in written:
                page_counts.append(pages(pdf))
            if samples and doc.kind not in written:
                samples.mkdir(parents=True, exist_ok=True)
                (samples / f"{doc.kind}.pdf").write_bytes(pdf)
                (samples / f"{doc.kind}.docx").write_bytes(docx)
                print(f"sample {doc.kind}: {pages(pdf)} page(s), {len(pdf) / 1024:.0f} KiB, "
                      f"{(t2 - t1) * 1000:.0f} ms PDF, {(t3 - t2) * 1000:.0f} ms DOCX")  # fmt: skip
            written.add(doc.kind)
    total = time.perf_counter() - t_all
    n = len(build)

    def ms(xs: list[float]) -> str:
        return f"median {statistics.median(xs) * 1000:.1f} ms, p95 {sorted(xs)[int(len(xs) * 0.95)] * 1000:.1f} ms"

    print(f"{n} documents (PDF + DOCX each) in {total:.1f} s: {n / total:.1f} documents/s")
    print(f"  build from the record: {ms(build)}")
    print(f"  PDF (WeasyPrint):      {ms(pdf_ms)}, {statistics.median(sizes) / 1024:.0f} KiB median")
    print(f"  DOCX (python-docx):    {ms(docx_ms)}")
    print(f"  pages per document: {min(page_counts)}–{max(page_counts)} (of {len(page_counts)} counted)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="documents in all (half letters, half notices)")
    ap.add_argument("--url", help="a migrated database to fill (default: a temporary SQLite file)")
    ap.add_argument("--samples", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        settings = Settings(database_url=url, data_dir=Path(tmp), jwt_secret="bench-" + "x" * 32)
        engine = make_engine(url)
        sm = make_sessionmaker(engine, settings)
        t0 = time.perf_counter()
        measure_ids, hazard_ids = seed(sm, args.n // 2)
        print(f"seeded {len(measure_ids)} measures and {len(hazard_ids)} hazards in {time.perf_counter() - t0:.1f} s")
        run(sm, measure_ids, hazard_ids, args.samples)
        engine.dispose()


if __name__ == "__main__":
    main()
