"""Demo data (``beian demo``, ``beian serve --demo``): accounts and filings a newcomer can walk through.

Accounts: applicant, applicant2, provider, bureau-11 (北京), bureau-43 (湖南), bureau-44 (广东), admin.
Filings, brought in as existing MIIT filings (``filing_import``) and then moved through the real engine:
a Beijing company with a legacy three-domain website (one on .io, an unapproved TLD) and a second
website; a Guangdong company with an open change order (so its cancel actions are blocked); a Zhejiang
subject made a shell by cancelling its only website; a personal site on an IDN domain (Gansu); a Hunan
filing (Friday batch). Credentials, tokens and filing passwords are printed and written to
``$BEIAN_HOME/demo-credentials.json``.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import TextIO

from beian.web import config

USERS = [
    ("admin", "admin", "", "admin@demo.beian.local"),
    ("applicant", "applicant", "", "applicant@demo.beian.local"),
    ("applicant2", "applicant", "", "applicant2@demo.beian.local"),
    ("provider", "provider_reviewer", "", "review@demo.beian.local"),
    ("bureau-11", "bureau_reviewer", "11", "bureau11@demo.beian.local"),
    ("bureau-43", "bureau_reviewer", "43", "bureau43@demo.beian.local"),
    ("bureau-44", "bureau_reviewer", "44", "bureau44@demo.beian.local"),
]


def _person(name: str, mobile: str, email: str) -> dict:
    return {"responsible_name": name, "responsible_mobile": mobile, "responsible_email": email}


SUBJECTS = [
    {
        "owner": "applicant",
        "subject": {
            "number": "京ICP备11018762号",
            "nature": "enterprise",
            "name": "北京云栈科技有限公司",
            "certificate_type": "uscc",
            "certificate_number": "91110108MA01ABCD1X",
            "address": "北京市海淀区中关村大街 1 号",
            **_person("张伟", "13800138000", "zhangwei@yunzhan.example"),
        },
        "websites": [
            {
                "number": "京ICP备11018762号-1",
                "name": "云栈官网",
                "homepage": "https://www.yunzhan.com.cn",
                "domains": ["yunzhan.com.cn", "yunzhan.net", "yunzhan.io"],
            },
            {
                "number": "京ICP备11018762号-2",
                "name": "云栈开发者文档",
                "homepage": "https://yunzhan-docs.cn",
                "domains": ["yunzhan-docs.cn"],
            },
        ],
    },
    {
        "owner": "applicant",
        "subject": {
            "number": "粤ICP备2022075904号",
            "nature": "enterprise",
            "name": "深圳市南山小鹿网络有限公司",
            "certificate_type": "uscc",
            "certificate_number": "91440300MA5FXY812K",
            "address": "广东省深圳市南山区科技园",
            **_person("李娜", "13900139000", "lina@xiaolu.example"),
        },
        "websites": [
            {
                "number": "粤ICP备2022075904号-1",
                "name": "小鹿商城",
                "homepage": "https://www.xiaolu-shop.com",
                "domains": ["xiaolu-shop.com"],
            },
        ],
        "change_website": {"name": "小鹿商城（新版）"},
    },
    {
        "owner": "applicant",
        "subject": {
            "number": "浙ICP备16028473号",
            "nature": "enterprise",
            "name": "杭州西溪文化传媒有限公司",
            "certificate_type": "uscc",
            "certificate_number": "91330106MA27XX0011",
            "address": "浙江省杭州市西湖区",
            **_person("王芳", "13700137000", "wangfang@xixi.example"),
        },
        "websites": [
            {
                "number": "浙ICP备16028473号-1",
                "name": "西溪文化",
                "homepage": "https://xixi-culture.cn",
                "domains": ["xixi-culture.cn"],
            },
        ],
        "make_shell": True,
    },
    {
        "owner": "applicant2",
        "subject": {
            "number": "陇ICP备2021003158号",
            "nature": "individual",
            "name": "赵磊",
            "certificate_type": "resident_id",
            "certificate_number": "11010519491231002X",
            "address": "甘肃省兰州市城关区",
            **_person("赵磊", "13600136000", "zhaolei@example.cn"),
        },
        "websites": [
            {
                "number": "陇ICP备2021003158号-1",
                "name": "敦煌笔记",
                "homepage": "http://敦煌笔记.中国",
                "content_type": "无",
                "domains": ["敦煌笔记.中国"],
            },
        ],
    },
    {
        "owner": "applicant2",
        "subject": {
            "number": "湘ICP备2020012345号",
            "nature": "enterprise",
            "name": "长沙麓山教育咨询有限公司",
            "certificate_type": "uscc",
            "certificate_number": "91430104MA4L0XXX1B",
            "address": "湖南省长沙市岳麓区",
            **_person("陈静", "13500135000", "chenjing@lushan.example"),
        },
        "websites": [
            {
                "number": "湘ICP备2020012345号-1",
                "name": "麓山教育",
                "homepage": "https://lushan-edu.cn",
                "domains": ["lushan-edu.cn"],
            },
        ],
    },
]


def demo_loaded() -> bool:
    from beian.accounts.models import User

    return User.objects.filter(username="applicant").exists()


def _fix_check_char(kind: str, number: str) -> str:
    """Demo certificate numbers are made up: give them a valid check character."""
    from beian.rules import natures

    if kind == "uscc":
        return number[:17] + natures.uscc_check_char(number[:17])
    if kind == "resident_id":
        return number[:17] + natures.resident_id_check_char(number[:17])
    return number


def load_demo(out: TextIO) -> dict:
    from django.db import transaction

    from beian.accounts.services import token_create, user_create
    from beian.orders import services, verification
    from beian.orders.workflow import Action, move
    from beian.registry.models import Website
    from beian.registry.services import filing_import

    if demo_loaded():
        raise RuntimeError(
            "demo data is already loaded (user 'applicant' exists); use a fresh BEIAN_HOME or database"
        )
    credentials: dict = {"users": {}, "filing_passwords": {}}
    with transaction.atomic():
        users = {}
        for username, role, province, email in USERS:
            password = f"demo-{secrets.token_urlsafe(6)}"
            users[username] = user_create(
                username=username, password=password, role=role, province=province, email=email
            )
            credentials["users"][username] = {
                "password": password,
                "token": token_create(user=users[username], name="demo"),
            }
        for spec in SUBJECTS:
            subject = dict(spec["subject"])
            subject["certificate_number"] = _fix_check_char(
                subject["certificate_type"], subject["certificate_number"]
            )
            password = verification.generate_password()
            subj = filing_import(
                owner=users[spec["owner"]],
                subject=subject,
                websites=spec["websites"],
                filing_password_hash=verification.hash_password(password),
            )
            credentials["filing_passwords"][subj.number] = password
            if spec.get("make_shell"):
                site = Website.objects.get(subject=subj)
                order = services.cancel_website_submit(
                    actor=users[spec["owner"]], website=site, password=password, reason="网站停止运营"
                )
                if (
                    order.state == "awaiting_verification"
                ):  # SMS mode: enter the code the responsible person got
                    sms = order.messages.filter(template="sms_verification_code").latest("id")
                    code = re.search(r"验证码 (\d{6})", sms.body).group(1)
                    verification.sms_verify(order_id=order.pk, code=code, actor=users[spec["owner"]])
                bureau = users.get(f"bureau-{subj.province}", users["admin"])
                move(order.pk, Action.BUREAU_APPROVE, actor=bureau, note="演示：注销网站审核通过")
            if "change_website" in spec:
                site = Website.objects.get(subject=subj, sequence=1)
                services.change_website_submit(
                    actor=users[spec["owner"]], website=site, changes=spec["change_website"]
                )
    path = config.home() / "demo-credentials.json"
    path.write_text(json.dumps(credentials, ensure_ascii=False, indent=2), "utf-8")
    path.chmod(0o600)
    print("演示账号 / demo accounts (username, password, API token):", file=out)
    for username, cred in credentials["users"].items():
        print(f"  {username:12} {cred['password']:16} {cred['token']}", file=out)
    print("备案密码 / filing passwords:", file=out)
    for number, password in credentials["filing_passwords"].items():
        print(f"  {number:24} {password}", file=out)
    print(f"已写入 / written to {path}", file=out)
    return credentials
