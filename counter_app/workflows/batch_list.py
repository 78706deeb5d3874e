"""申请人名单 — the applicant list a unit or school brings for 批量申领, read and checked row by row.

What a clerk gets is a spreadsheet: an Excel workbook (``.xlsx``) or a CSV export (UTF-8, with or
without BOM, or GBK/GB18030 as Chinese Excel writes it; Excel's "Unicode text" — UTF-16 with tabs —
too). The first non-empty row holds the column names; 姓名 and 证件号码 (or 身份证号码) are required,
证件类型, 性别, 民族, 出生日期, 联系电话 and 联系地址 optional, 序号 and 备注 ignored.

`read_applicant_list` returns the rows and every problem found, each with its row number as the
spreadsheet shows it and the column, in plain Chinese: a bad 公民身份号码 (which rule failed, never a
"correct" check character), an ID number Excel turned into a number (5.11102E+17: the digits are
lost), a 性别 or 出生日期 that disagrees with the ID number, an unknown 民族, a malformed phone, a
person listed twice. The flow submits nothing unless the list has no problem at all.

Pure: bytes in, rows and problems out (the flow reads the file); the old binary ``.xls`` format is
refused with what to do instead.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final
from xml.etree import ElementTree

from counter_app.domain.identity import DocumentType, Sex, check_document, ethnicity_code, ethnicity_name

#: The most applicants one list may hold (a school's intake; larger units split their list).
MAX_ROWS: Final = 1000

#: Column names as units write them → the field they fill.
COLUMNS: Final[Mapping[str, str]] = {
    "姓名": "name",
    "证件类型": "id_type",
    "证件号码": "id_number",
    "身份证号码": "id_number",
    "身份证号": "id_number",
    "公民身份号码": "id_number",
    "性别": "sex",
    "民族": "ethnicity",
    "出生日期": "birth_date",
    "联系电话": "phone",
    "手机号码": "phone",
    "电话": "phone",
    "联系地址": "address",
    "地址": "address",
    "序号": "",
    "备注": "",
}
FIELD_LABELS: Final[Mapping[str, str]] = {
    "name": "姓名",
    "id_type": "证件类型",
    "id_number": "证件号码",
    "sex": "性别",
    "ethnicity": "民族",
    "birth_date": "出生日期",
    "phone": "联系电话",
    "address": "联系地址",
}
ID_TYPE_NAMES: Final[Mapping[str, str]] = {
    "居民身份证": "resident_id",
    "身份证": "resident_id",
    "港澳台居民居住证": "hmt_residence_permit",
    "外国人永久居留身份证": "foreign_permanent_resident_id",
    "护照": "passport",
}
_DOCUMENT_TYPES: Final[Mapping[str, DocumentType]] = {
    "resident_id": DocumentType.RESIDENT_ID,
    "hmt_residence_permit": DocumentType.HMT_RESIDENCE_PERMIT,
    "foreign_permanent_resident_id": DocumentType.FOREIGN_PERMANENT_RESIDENT_ID,
    "passport": DocumentType.PASSPORT,
}
_SEXES: Final[Mapping[str, str]] = {"男": "1", "女": "2", "1": "1", "2": "2"}
_MOBILE = re.compile(r"^1\d{10}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_EXCEL_NUMBER = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_EXCEL_EPOCH = date(1899, 12, 30)
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


class ListUnreadable(ValueError):
    """The file is not a list the counter can read (格式、编码或表头); the message says what to do."""


@dataclass(frozen=True)
class Cell:
    """One cell as read: its text, and whether Excel stored it as a number."""

    text: str
    numeric: bool = False


@dataclass(frozen=True)
class Applicant:
    """One applicant of the list (one row), normalised."""

    line: int
    name: str
    id_type: str
    id_number: str
    sex: str = ""
    ethnicity: str = ""
    birth_date: str = ""
    phone: str = ""
    address: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "name": self.name,
            "id_type": self.id_type,
            "id_number": self.id_number,
            "sex": self.sex,
            "ethnicity": self.ethnicity,
            "birth_date": self.birth_date,
            "phone": self.phone,
            "address": self.address,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Applicant:
        return cls(
            int(raw["line"]),
            str(raw["name"]),
            str(raw["id_type"]),
            str(raw["id_number"]),
            str(raw.get("sex") or ""),
            str(raw.get("ethnicity") or ""),
            str(raw.get("birth_date") or ""),
            str(raw.get("phone") or ""),
            str(raw.get("address") or ""),
        )


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row (or the file, ``line`` 0), in words the unit can fix."""

    line: int
    name: str
    message: str

    def __str__(self) -> str:
        who = f"（{self.name}）" if self.name else ""
        return f"第 {self.line} 行{who}：{self.message}" if self.line else self.message


@dataclass(frozen=True)
class ApplicantList:
    """The list as read: applicants in file order, and every problem found."""

    applicants: tuple[Applicant, ...]
    problems: tuple[RowProblem, ...]
    ignored_columns: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ListUnreadable("名单文件的文字编码无法识别，请在 Excel 中另存为“CSV UTF-8”或 .xlsx 后重试。")


def csv_rows(data: bytes) -> list[list[Cell]]:
    """The cells of a CSV (or tab-separated) export, row by row."""
    text = _decode(data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    return [[Cell(c) for c in row] for row in reader]


def _column_index(reference: str) -> int:
    letters = "".join(ch for ch in reference if ch.isalpha())
    index = 0
    for ch in letters.upper():
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def xlsx_rows(data: bytes) -> list[list[Cell]]:
    """The cells of the first worksheet of an Excel workbook (.xlsx), row by row (gaps kept)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ListUnreadable("名单文件不是有效的 Excel（.xlsx）文件，请重新导出后重试。") from None
    with archive:
        names = set(archive.namelist())
        shared: list[str] = []
        if "xl/sharedStrings.xml" in names:
            root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
            for item in root.findall("m:si", _NS):
                shared.append("".join(t.text or "" for t in item.iter(f"{{{_NS['m']}}}t")))
        sheet = _first_sheet(archive, names)
        root = ElementTree.fromstring(archive.read(sheet))
    rows: list[list[Cell]] = []
    for row in root.iter(f"{{{_NS['m']}}}row"):
        number = int(row.get("r") or len(rows) + 1)
        while len(rows) < number - 1:
            rows.append([])
        cells: list[Cell] = []
        for c in row.findall("m:c", _NS):
            index = _column_index(c.get("r") or "") if c.get("r") else len(cells)
            while len(cells) < index:
                cells.append(Cell(""))
            kind = c.get("t") or "n"
            value = c.find("m:v", _NS)
            raw = value.text if value is not None and value.text is not None else ""
            if kind == "s":
                cells.append(Cell(shared[int(raw)] if raw else ""))
            elif kind == "inlineStr":
                cells.append(Cell("".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))))
            elif kind in ("str", "b", "e"):
                cells.append(Cell(raw))
            else:
                cells.append(Cell(raw, numeric=bool(raw)))
        rows.append(cells)
    return rows


def _first_sheet(archive: zipfile.ZipFile, names: set[str]) -> str:
    try:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        sheet = book.find("m:sheets/m:sheet", _NS)
        rel_id = sheet.get(f"{{{_REL_NS}}}id") if sheet is not None else None
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        for rel in rels:
            if rel.get("Id") == rel_id:
                target = str(rel.get("Target") or "").lstrip("/")
                path = target if target.startswith("xl/") else f"xl/{target}"
                if path in names:
                    return path
    except (KeyError, ElementTree.ParseError):
        pass
    sheets = sorted(n for n in names if n.startswith("xl/worksheets/sheet"))
    if not sheets:
        raise ListUnreadable("Excel 文件中没有工作表，请检查名单文件。")
    return sheets[0]


def file_rows(data: bytes, filename: str) -> list[list[Cell]]:
    """The cells of a list file, by its name's ending (.xlsx, .csv, .txt)."""
    lower = filename.lower()
    if lower.endswith(".xls"):
        raise ListUnreadable("不支持 Excel 97-2003（.xls）格式，请在 Excel 中另存为 .xlsx 或 CSV 后重试。")
    if lower.endswith(".xlsx") or data.startswith(b"PK"):
        return xlsx_rows(data)
    if lower.endswith((".csv", ".txt")):
        return csv_rows(data)
    raise ListUnreadable("名单须为 Excel（.xlsx）或 CSV 文件。")


# --------------------------------------------------------------------------------------------
# Checking the rows
# --------------------------------------------------------------------------------------------


def _header(rows: Sequence[Sequence[Cell]]) -> tuple[int, dict[int, str], tuple[str, ...]]:
    for index, row in enumerate(rows):
        texts = [c.text.strip() for c in row]
        if not any(texts):
            continue
        mapping: dict[int, str] = {}
        ignored: list[str] = []
        for col, name in enumerate(texts):
            key = COLUMNS.get(name.replace(" ", "").replace("*", ""))
            if key is None:
                if name:
                    ignored.append(name)
            elif key:
                if key in mapping.values():
                    raise ListUnreadable(f"名单表头中“{name}”一列重复，请删去重复的列后重试。")
                mapping[col] = key
        missing = [FIELD_LABELS[k] for k in ("name", "id_number") if k not in mapping.values()]
        if missing:
            raise ListUnreadable(
                "名单第一行须为表头，至少有“姓名”和“证件号码”两列；缺少："
                + "、".join(missing)
                + "。请按批量申领名单模板整理后重试。"
            )
        return index, mapping, tuple(ignored)
    raise ListUnreadable("名单文件是空的。")


def _excel_date(cell: Cell) -> date | None:
    if cell.numeric:
        try:
            return _EXCEL_EPOCH + timedelta(days=int(float(cell.text)))
        except (ValueError, OverflowError):
            return None
    text = cell.text.strip()
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _check_row(line: int, cells: Mapping[str, Cell], today: date) -> tuple[Applicant | None, list[str]]:
    problems: list[str] = []

    def value(key: str) -> str:
        cell = cells.get(key)
        return "" if cell is None else cell.text.strip()

    name = re.sub(r"\s+", "", value("name"))
    if not name:
        problems.append("姓名为空")
    elif len(name) > 50:
        problems.append("姓名过长")
    type_text = value("id_type") or "居民身份证"
    id_type = ID_TYPE_NAMES.get(type_text, type_text if type_text in _DOCUMENT_TYPES else "")
    raw_number = cells.get("id_number") or Cell("")
    number = raw_number.text.strip()
    birth: date | None = None
    derived_sex: Sex | None = None
    if not id_type:
        problems.append(f"证件类型“{type_text}”无法识别（可填：{'、'.join(ID_TYPE_NAMES)}）")
    elif not number:
        problems.append("证件号码为空")
    elif raw_number.numeric or _EXCEL_NUMBER.fullmatch(number):
        problems.append("证件号码被 Excel 存成了数字，末几位已丢失；请将该列设为“文本”后重新录入")
    else:
        checked = check_document(_DOCUMENT_TYPES[id_type], number, today=today)
        if checked.blocking:
            problems.append("证件号码有误：" + "；".join(f.message for f in checked.failures if f.blocking))
        else:
            number = checked.value
            birth, derived_sex = checked.birth_date, checked.sex
    sex = ""
    if value("sex"):
        sex = _SEXES.get(value("sex"), "")
        if not sex:
            problems.append(f"性别“{value('sex')}”无法识别（填 男 或 女）")
        elif derived_sex is not None and derived_sex.value != sex:
            problems.append("性别与公民身份号码不符")
    elif derived_sex is not None:
        sex = derived_sex.value
    ethnicity = ""
    if value("ethnicity"):
        text = value("ethnicity")
        if text.isdigit():
            ethnicity = text.zfill(2) if ethnicity_name(text.zfill(2)) else ""
        else:
            ethnicity = ethnicity_code(text) or ""
        if not ethnicity:
            problems.append(f"民族“{text}”无法识别（填民族名称如 汉族、彝族，或两位代码）")
    born_text = ""
    if "birth_date" in cells and cells["birth_date"].text.strip():
        born = _excel_date(cells["birth_date"])
        if born is None or born > today:
            problems.append(f"出生日期“{cells['birth_date'].text.strip()}”有误（如 2012-09-01）")
        elif birth is not None and born != birth:
            problems.append("出生日期与公民身份号码不符")
        else:
            born_text = born.isoformat()
    elif birth is not None:
        born_text = birth.isoformat()
    phone = re.sub(r"[\s\u3000]", "", value("phone"))
    if phone and not (_MOBILE.fullmatch(phone) or _LANDLINE.fullmatch(phone)):
        problems.append(f"联系电话“{phone}”格式有误")
    if problems:
        return None, problems
    return (
        Applicant(line, name, id_type, number, sex, ethnicity, born_text, phone, value("address")),
        [],
    )


def _records(
    rows: Sequence[Sequence[Cell]], start: int, mapping: Mapping[int, str]
) -> Iterator[tuple[int, dict[str, Cell]]]:
    for index in range(start + 1, len(rows)):
        row = rows[index]
        cells = {key: row[col] for col, key in mapping.items() if col < len(row)}
        if not any(c.text.strip() for c in cells.values()):
            continue
        yield index + 1, cells


def check_rows(rows: Sequence[Sequence[Cell]], *, today: date) -> ApplicantList:
    """The applicants of a list's cells, and every problem (row numbers as the spreadsheet shows)."""
    start, mapping, ignored = _header(rows)
    applicants: list[Applicant] = []
    problems: list[RowProblem] = []
    first_line: dict[str, int] = {}
    count = 0
    for line, cells in _records(rows, start, mapping):
        count += 1
        if count > MAX_ROWS:
            problems.append(RowProblem(0, "", f"一份名单最多 {MAX_ROWS} 人，请分成几份名单办理。"))
            break
        applicant, found = _check_row(line, cells, today)
        name = cells["name"].text.strip() if "name" in cells else ""
        number = applicant.id_number if applicant is not None else ""
        if applicant is None and "id_number" in cells:
            number = cells["id_number"].text.strip().upper()
        if number and number in first_line:
            found = [f"与第 {first_line[number]} 行证件号码相同（同一人只能申领一张卡）", *found]
            applicant = None
        elif number:
            first_line[number] = line
        if applicant is None:
            problems.extend(RowProblem(line, name, message) for message in found)
        else:
            applicants.append(applicant)
    if count == 0:
        problems.append(RowProblem(0, "", "名单中没有申请人。"))
    return ApplicantList(tuple(applicants), tuple(problems), ignored)


def read_applicant_list(data: bytes, filename: str, *, today: date) -> ApplicantList:
    """Read and check an applicant list file; `ListUnreadable` when the file itself cannot be used."""
    return check_rows(file_rows(data, filename), today=today)
