"""注销备案申请表, pre-filled from the registry, as .docx (python-docx) and .pdf (reportlab, built-in CJK
font STSong-Light, so nothing is downloaded).

The form carries only what the public query shows (subject name and nature, numbers, website names and
domains) plus the certificate type; certificate numbers, the responsible person and signatures are left
blank for the applicant to fill in by hand, so anyone holding the filing number (a domain's new owner
too) may generate it.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from beian.offline.selectors import MATERIALS
from beian.rules import provinces
from beian.rules.provinces import OfflineChannel


@dataclass
class FormData:
    cancellation_type: str  # "subject" | "website"
    subject_name: str
    nature: str
    certificate_type: str
    subject_number: str
    websites: list[dict]  # number, name, domains (U-labels)
    province: provinces.Province
    date: dt.date
    new_owner_domain: str | None = None  # the applicant is the domain's new owner (domain conflict)
    materials: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.province.short_name}ICP备案注销申请表"

    @property
    def type_label(self) -> str:
        return (
            "注销主体（删除整个备案号及其下所有网站）"
            if self.cancellation_type == "subject"
            else "注销网站（删除主体下该网站的备案信息）"
        )

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("注销类型", self.type_label),
            ("主办单位名称", self.subject_name),
            ("主办单位性质", self.nature),
            ("主办单位证件类型", self.certificate_type),
            ("主办单位证件号码", ""),
            ("主体备案号", self.subject_number),
            ("备案所在管局", self.province.bureau),
            ("申请日期", f"{self.date:%Y年%m月%d日}"),
        ]

    def submit_to(self) -> str:
        p = self.province
        if p.offline_channel is OfflineChannel.FORM_DOWNLOAD:
            return f"填写签字（单位加盖公章）后，连同证件材料递交或邮寄至{p.bureau}。以管局网站（{p.offline_url}）公布的递交方式为准。"
        return f"{p.bureau}：{p.offline_notes_zh}（{p.offline_url}）"


def form_data(
    *, subject, websites, cancellation_type: str, new_owner_domain: str | None = None, today: dt.date
) -> FormData:
    province = provinces.by_code(subject.province)
    materials = [zh for key, zh, _ in MATERIALS if key != "domain_certificate" or new_owner_domain]
    return FormData(
        cancellation_type=cancellation_type,
        subject_name=subject.name,
        nature=subject.nature_info.name,
        certificate_type=subject.certificate_type_name,
        subject_number=subject.number,
        websites=[
            {
                "number": w.number,
                "name": w.name,
                "domains": [d.unicode for d in w.domains.all() if d.status == "active"],
            }
            for w in websites
        ],
        province=province,
        date=today,
        new_owner_domain=new_owner_domain,
        materials=materials,
    )


def render_docx(data: FormData) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(11)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "SimSun")  # East Asian text in a CJK font
    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(data.title)
    run.bold = True
    run.font.size = Pt(16)
    if data.new_owner_domain:
        doc.add_paragraph(
            f"申请人为域名 {data.new_owner_domain} 的新持有人：该域名现归申请人所有，原备案属于原持有人，申请注销原备案（附域名证书）。"
        )
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in data.rows():
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    doc.add_paragraph()
    doc.add_paragraph("注销的网站").runs[0].bold = True
    sites = doc.add_table(rows=1, cols=3)
    sites.style = "Table Grid"
    for cell, text in zip(sites.rows[0].cells, ("网站备案号", "网站名称", "网站域名"), strict=True):
        cell.text = text
    for w in data.websites:
        cells = sites.add_row().cells
        cells[0].text, cells[1].text, cells[2].text = w["number"], w["name"], "、".join(w["domains"])
    doc.add_paragraph()
    for label in ("注销原因：", "申请人（单位）签字 / 盖章：", "联系电话：", "日期：    年    月    日"):
        doc.add_paragraph(label + "_" * 30)
    doc.add_paragraph("需提交的材料").runs[0].bold = True
    for item in data.materials:
        doc.add_paragraph(item, style="List Bullet")
    doc.add_paragraph("递交方式").runs[0].bold = True
    doc.add_paragraph(data.submit_to())
    doc.add_paragraph("本表由 beian 根据备案信息预先填写；请核对后签字，按管局填表要求递交。").runs[
        0
    ].italic = True
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def render_pdf(data: FormData) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    base = ParagraphStyle("cn", fontName="STSong-Light", fontSize=10.5, leading=16, wordWrap="CJK")
    title = ParagraphStyle("title", parent=base, fontSize=16, leading=24, alignment=1, spaceAfter=8)
    bold = ParagraphStyle("h", parent=base, fontSize=11.5, spaceBefore=8, spaceAfter=4)

    def p(text: str, style=base) -> Paragraph:
        return Paragraph(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), style)

    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
    story = [p(data.title, title)]
    if data.new_owner_domain:
        story.append(
            p(
                f"申请人为域名 {data.new_owner_domain} 的新持有人：该域名现归申请人所有，原备案属于原持有人，申请注销原备案（附域名证书）。"
            )
        )
        story.append(Spacer(1, 4 * mm))
    story.append(Table([[p(a), p(b)] for a, b in data.rows()], colWidths=[40 * mm, 130 * mm], style=grid))
    story += [p("注销的网站", bold)]
    rows = [[p("网站备案号"), p("网站名称"), p("网站域名")]]
    rows += [[p(w["number"]), p(w["name"]), p("、".join(w["domains"]))] for w in data.websites]
    story.append(Table(rows, colWidths=[55 * mm, 45 * mm, 70 * mm], style=grid))
    story.append(Spacer(1, 6 * mm))
    for label in ("注销原因：", "申请人（单位）签字 / 盖章：", "联系电话：", "日期：    年    月    日"):
        story.append(p(label + "＿" * 20))
        story.append(Spacer(1, 3 * mm))
    story.append(p("需提交的材料", bold))
    story += [p(f"· {item}") for item in data.materials]
    story.append(p("递交方式", bold))
    story.append(p(data.submit_to()))
    story.append(Spacer(1, 4 * mm))
    story.append(p("本表由 beian 根据备案信息预先填写；请核对后签字，按管局填表要求递交。"))
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        title=data.title,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    ).build(story)
    return out.getvalue()
