"""Two renderers of the same structures: PDF (WeasyPrint, fonts embedded as subsets) and DOCX (python-docx).

Both take their sizes, margins, colours and faces from ``layout``; neither decides what a document says.
WeasyPrint needs Pango (Debian: libpango-1.0-0, libpangoft2-1.0-0), which .ci/run and the Dockerfile install.
"""

from __future__ import annotations

import io
import threading
from html import escape

from docx import Document as new_docx
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from hazard_registry.documents import layout as L
from hazard_registry.documents.content import OfficialDocument, ServiceReceipt, chinese_date

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# --- PDF ------------------------------------------------------------------------------------------------------

_PAGE_CSS = f"""
@font-face {{ font-family: "{L.EMBEDDED_FAMILY}"; src: url("{L.EMBEDDED_FONT.as_uri()}"); }}
@page {{
  size: A4;
  margin: {L.MARGINS_MM["top"]}mm {L.MARGINS_MM["right"]}mm {L.MARGINS_MM["bottom"]}mm {L.MARGINS_MM["left"]}mm;
}}
@page :right {{ @bottom-right {{ content: "— " counter(page) " —"; font: {L.PAGE_NUMBER_PT}pt {L.css_family("body")};
  vertical-align: top; padding-top: {L.PAGE_NUMBER_BELOW_MM}mm; margin-right: 1em; }} }}
@page :left {{ @bottom-left {{ content: "— " counter(page) " —"; font: {L.PAGE_NUMBER_PT}pt {L.css_family("body")};
  vertical-align: top; padding-top: {L.PAGE_NUMBER_BELOW_MM}mm; margin-left: 1em; }} }}
html {{ font-family: {L.css_family("body")}; font-size: {L.BODY_PT}pt; line-height: {L.LINE_MM:.2f}mm;
  color: #000; }}
body {{ margin: 0; }}
p {{ margin: 0; text-align: justify; }}
.mark {{ color: #{L.RED}; font-family: {L.css_family("title")}; font-size: {L.MARK_PT}pt; text-align: center;
  line-height: 1.2; letter-spacing: 0.1em; margin-bottom: {2 * L.LINE_MM:.2f}mm; }}
.number {{ text-align: center; }}
.separator {{ border-top: 0.75mm solid #{L.RED}; margin: {L.SEPARATOR_BELOW_NUMBER_MM}mm 0 {2 * L.LINE_MM:.2f}mm; }}
h1 {{ font-family: {L.css_family("title")}; font-size: {L.TITLE_PT}pt; font-weight: normal; text-align: center;
  line-height: 1.45; margin: 0 0 {L.LINE_MM:.2f}mm; }}
.addressee {{ text-indent: 0; }}
.body p {{ text-indent: 2em; }}
.body p.heading {{ font-family: {L.css_family("heading")}; }}
.signature {{ margin-top: {2 * L.LINE_MM:.2f}mm; padding-right: 4em; page-break-inside: avoid; }}
.signature p {{ text-align: right; }}
.seal-room {{ height: {L.LINE_MM:.2f}mm; }}
.footer {{ margin-top: {2 * L.LINE_MM:.2f}mm; border-top: 0.35mm solid #000; border-bottom: 0.35mm solid #000;
  font-size: {L.PAGE_NUMBER_PT}pt; padding: 1mm 1em; }}
table {{ width: 100%; border-collapse: collapse; }}
td {{ border: 0.35mm solid #000; padding: 2mm 3mm; vertical-align: middle; }}
td.label {{ width: 30%; text-align: center; font-family: {L.css_family("heading")}; }}
td.value {{ height: {L.LINE_MM * 1.4:.2f}mm; }}
/* 送达回证 is a one-page form: tighter lines than the 22-line body grid */
body.form .mark {{ margin-bottom: {L.LINE_MM:.2f}mm; }}
body.form .separator {{ margin-bottom: {L.LINE_MM:.2f}mm; }}
body.form table {{ font-size: {L.PAGE_NUMBER_PT}pt; line-height: 1.45; }}
body.form .signature {{ margin-top: 4mm; }}
body.form .signature p {{ line-height: 1.5; }}
body.form .seal-room {{ height: 0; }}
body.form td {{ padding: 1.5mm 2mm; }}
body.form td.label {{ width: 34%; }}
body.form td.value {{ height: 9mm; }}
body.form td.value.sign {{ height: 22mm; }}  /* room for the recipient's signature or seal */
"""

_local = threading.local()


def _page_css() -> tuple[CSS, FontConfiguration]:
    """The stylesheet and its font configuration, parsed once per thread (loading the faces is the slow part)."""
    if not hasattr(_local, "css"):
        fonts = FontConfiguration()
        _local.css = (CSS(string=_PAGE_CSS, font_config=fonts), fonts)
    return _local.css


def _official_html(doc: OfficialDocument) -> str:
    body = "".join(
        f'<p class="heading">{escape(b.text)}</p>' if b.heading else f"<p>{escape(b.text)}</p>" for b in doc.body
    )
    footer = ""
    if doc.copies_to:
        footer = f'<div class="footer">抄送：{escape("，".join(doc.copies_to))}。</div>'
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(doc.title)}</title></head><body>"
        f'<div class="mark">{escape(doc.authority)}</div>'
        f'<p class="number">{escape(doc.number or "")}</p><div class="separator"></div>'
        f"<h1>{escape(doc.title)}</h1>"
        f'<p class="addressee">{escape(doc.addressee)}：</p>'
        f'<div class="body">{body}</div>'
        f'<div class="signature"><p class="seal-room"></p><p>{escape(doc.authority)}</p>'
        f"<p>{chinese_date(doc.dated)}</p></div>{footer}</body></html>"
    )


def _receipt_html(form: ServiceReceipt) -> str:
    rows = "".join(
        f'<tr><td class="label">{escape(label)}</td>'
        f'<td class="value{" sign" if "签名" in label else ""}">{escape(value)}</td></tr>'
        for label, value in form.rows
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>送达回证</title></head>'
        '<body class="form">'
        f'<div class="mark">{escape(form.authority)}</div><div class="separator"></div>'
        f"<h1>送达回证</h1><table>{rows}</table>"
        f'<div class="signature"><p class="seal-room"></p><p>{escape(form.authority)}</p>'
        f"<p>{chinese_date(form.dated)}</p></div></body></html>"
    )


def _pdf(html: str) -> bytes:
    css, fonts = _page_css()
    return HTML(string=html).write_pdf(stylesheets=[css], font_config=fonts)


def official_pdf(doc: OfficialDocument) -> bytes:
    return _pdf(_official_html(doc))


def receipt_pdf(form: ServiceReceipt) -> bytes:
    return _pdf(_receipt_html(form))


# --- DOCX -----------------------------------------------------------------------------------------------------


def _font(run, face: str, size: float, color: str | None = None) -> None:
    """Name the official face (eastAsia) and a Latin one; WPS/Word substitute when the face is missing."""
    run.font.size = Pt(size)
    run.font.name = "Times New Roman"
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), L.FACES[face][0])
    if color:
        run.font.color.rgb = RGBColor.from_string(color)


def _bottom_border(paragraph, color: str, eighths_pt: int) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in {"w:val": "single", "w:sz": str(eighths_pt), "w:space": "1", "w:color": color}.items():
        bottom.set(qn(k), v)
    borders.append(bottom)
    ppr.append(borders)


def _page_number(paragraph) -> None:
    """— PAGE — as a field, so Word/WPS number the pages themselves."""
    run = paragraph.add_run("— ")
    _font(run, "body", L.PAGE_NUMBER_PT)
    field_run = paragraph.add_run()
    _font(field_run, "body", L.PAGE_NUMBER_PT)
    for tag, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if tag:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), tag)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        field_run._r.append(el)
    _font(paragraph.add_run(" —"), "body", L.PAGE_NUMBER_PT)


def _new_document():
    d = new_docx()
    section = d.sections[0]
    if section.start_type != WD_SECTION.NEW_PAGE:
        section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(L.PAGE_MM[0]), Mm(L.PAGE_MM[1])
    section.top_margin, section.bottom_margin = Mm(L.MARGINS_MM["top"]), Mm(L.MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(L.MARGINS_MM["left"]), Mm(L.MARGINS_MM["right"])
    section.footer_distance = Mm(L.MARGINS_MM["bottom"] - L.PAGE_NUMBER_BELOW_MM - 5)
    # Odd pages right, even pages left (GB/T 9704-2012 7.5).
    d.settings.odd_and_even_pages_header_footer = True
    odd = section.footer.paragraphs[0]
    odd.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _page_number(odd)
    even = section.even_page_footer.paragraphs[0]
    even.alignment = WD_ALIGN_PARAGRAPH.LEFT
    _page_number(even)
    normal = d.styles["Normal"]
    normal.font.size = Pt(L.BODY_PT)
    normal.paragraph_format.line_spacing = Mm(L.LINE_MM)
    normal.paragraph_format.space_after = Pt(0)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), L.FACES["body"][0])
    return d


def _para(d, text: str, face: str = "body", size: float = L.BODY_PT, *, align=None, indent: bool = False,
          color: str | None = None, space_after_lines: float = 0):  # fmt: skip
    p = d.add_paragraph()
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Pt(2 * size)
    if space_after_lines:
        p.paragraph_format.space_after = Mm(space_after_lines * L.LINE_MM)
    _font(p.add_run(text), face, size, color)
    return p


def _header(d, authority: str, number: str | None) -> None:
    p = _para(d, authority, "title", L.MARK_PT, align=WD_ALIGN_PARAGRAPH.CENTER, color=L.RED, space_after_lines=2)
    p.paragraph_format.line_spacing = 1.2
    sep = _para(d, number or "", align=WD_ALIGN_PARAGRAPH.CENTER)
    _bottom_border(sep, L.RED, 18)
    d.add_paragraph()
    d.add_paragraph()


def _signature(d, authority: str, dated) -> None:
    d.add_paragraph()
    d.add_paragraph()  # room for the seal
    for text in (authority, chinese_date(dated)):
        p = _para(d, text, align=WD_ALIGN_PARAGRAPH.RIGHT)
        p.paragraph_format.right_indent = Pt(4 * L.BODY_PT)


def _save(d) -> bytes:
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def official_docx(doc: OfficialDocument) -> bytes:
    d = _new_document()
    d.core_properties.title = doc.title
    _header(d, doc.authority, doc.number)
    title = _para(d, doc.title, "title", L.TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER, space_after_lines=1)
    title.paragraph_format.line_spacing = 1.45
    _para(d, doc.addressee + "：")
    for block in doc.body:
        _para(d, block.text, "heading" if block.heading else "body", indent=True)
    _signature(d, doc.authority, doc.dated)
    if doc.copies_to:
        d.add_paragraph()
        p = _para(d, "抄送：" + "，".join(doc.copies_to) + "。", size=L.PAGE_NUMBER_PT)
        _bottom_border(p, "000000", 6)
    return _save(d)


def receipt_docx(form: ServiceReceipt) -> bytes:
    d = _new_document()
    d.core_properties.title = "送达回证"
    _header(d, form.authority, None)
    _para(d, "送达回证", "title", L.TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER, space_after_lines=1)
    table = d.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, value in form.rows:
        cells = table.add_row().cells
        cells[0].width, cells[1].width = Mm(45), Mm(L.TEXT_BLOCK_MM[0] - 45)
        cells[0].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(cells[0].paragraphs[0].add_run(label), "heading", L.BODY_PT)
        _font(cells[1].paragraphs[0].add_run(value), "body", L.BODY_PT)
    _signature(d, form.authority, form.dated)
    return _save(d)
