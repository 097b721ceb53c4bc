"""The province directory (线下注销): where and how to cancel offline in each province."""

from __future__ import annotations

from beian.core import clock
from beian.rules import provinces, workdays
from beian.rules.provinces import OfflineChannel

MATERIALS = (
    (
        "form",
        "填写完整并签字（单位加盖公章）的注销备案申请表",
        "The cancellation application form, filled in and signed (sealed for an organisation)",
    ),
    (
        "id",
        "申请人（或单位负责人）的有效证件及复印件；单位另附营业执照等主体证件复印件",
        "The applicant's ID documents and copies; an organisation adds its certificate (e.g. business licence) copies",
    ),
    (
        "domain_certificate",
        "域名新持有人申请注销原备案时，另附域名证书（证明域名现归您所有）",
        "When the applicant is the domain's new owner: the domain certificate",
    ),
)


def province_entry(province: provinces.Province) -> dict:
    today = clock.today()
    entry = {
        "code": province.code,
        "name": province.name,
        "name_en": province.name_en,
        "abbreviation": province.abbreviation,
        "aliases": list(province.aliases),
        "bureau": province.bureau,
        "bureau_en": province.bureau_en,
        "offline_channel": province.offline_channel.value,
        "offline_channel_label": province.offline_channel.label_zh,
        "offline_channel_label_en": province.offline_channel.label_en,
        "offline_url": province.offline_url,
        "portal_url": f"https://{province.portal_code}.beian.miit.gov.cn/",
        "seed_url": province.seed_url,
        "notes": province.offline_notes_zh,
        "needs_account": province.offline_channel is OfflineChannel.REGISTERED_ACCOUNT_SYSTEM,
        "shell_subject_may_add_website": province.shell_subject_may_add_website,
        "materials": [{"key": k, "zh": zh, "en": en} for k, zh, en in MATERIALS],
        "data_checked": provinces.data_checked(),
        "next_processing_date": None,
        "next_processing_note": "",
    }
    if province.friday_batch:
        batch = workdays.next_friday_batch(today)
        entry["next_processing_date"] = batch.date.isoformat()
        entry["next_processing_note"] = batch.note_zh
    return entry


def directory() -> list[dict]:
    return [province_entry(p) for p in provinces.all_provinces()]
