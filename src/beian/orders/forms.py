"""Forms of the applicant's pages. They only shape input: every rule is checked by the services, whose
refusals are shown beside the field they are about."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _l

from beian.rules import natures, provinces


def _province_choices():
    return [(p.code, f"{p.name}（{p.abbreviation}）") for p in provinces.all_provinces()]


def _nature_choices():
    return [(n.code, n.name) for n in natures.natures().values()]


def _certificate_choices():
    return [(c.code, c.name) for c in natures.certificate_types().values()]


class SubjectFieldsForm(forms.Form):
    name = forms.CharField(label=_l("主办单位名称"), max_length=200)
    address = forms.CharField(label=_l("通信地址"), max_length=300, required=False)
    responsible_name = forms.CharField(label=_l("主体负责人姓名"), max_length=100)
    responsible_mobile = forms.CharField(
        label=_l("主体负责人手机号码"), max_length=20, help_text=_l("接收备案密码和短信核验")
    )
    responsible_email = forms.CharField(
        label=_l("主体负责人电子邮箱"), max_length=200, help_text=_l("接收找回备案密码的链接")
    )

    def subject_data(self) -> dict:
        return {
            k: self.cleaned_data.get(k, "")
            for k in ("name", "address", "responsible_name", "responsible_mobile", "responsible_email")
        }


class WebsiteFieldsForm(forms.Form):
    website_name = forms.CharField(label=_l("网站名称"), max_length=200)
    homepage = forms.CharField(
        label=_l("网站首页网址"), max_length=300, required=False, help_text=_l("留空则使用域名")
    )
    content_type = forms.CharField(
        label=_l("内容类型（前置审批）"), max_length=100, required=False, initial="无"
    )
    website_responsible_name = forms.CharField(label=_l("网站负责人姓名"), max_length=100)
    website_responsible_mobile = forms.CharField(label=_l("网站负责人手机号码"), max_length=20)
    website_responsible_email = forms.CharField(label=_l("网站负责人电子邮箱"), max_length=200)

    def website_data(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d.get("website_name", ""),
            "homepage": d.get("homepage", ""),
            "content_type": d.get("content_type", ""),
            "responsible_name": d.get("website_responsible_name", ""),
            "responsible_mobile": d.get("website_responsible_mobile", ""),
            "responsible_email": d.get("website_responsible_email", ""),
        }


class DomainField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _l("网站域名"))
        kwargs.setdefault("max_length", 300)
        kwargs.setdefault("help_text", _l("一个网站只能填写一个域名，例如 example.com；中文域名可直接填写"))
        super().__init__(**kwargs)


class NewFilingForm(SubjectFieldsForm, WebsiteFieldsForm):
    province = forms.ChoiceField(label=_l("备案省份"), choices=_province_choices)
    nature = forms.ChoiceField(label=_l("主办单位性质"), choices=_nature_choices, initial="enterprise")
    certificate_type = forms.ChoiceField(label=_l("证件类型"), choices=_certificate_choices, initial="uscc")
    certificate_number = forms.CharField(label=_l("证件号码"), max_length=100)
    domain = DomainField()

    field_order = ["province", "nature", "certificate_type", "certificate_number", "name", "address", "responsible_name",
                   "responsible_mobile", "responsible_email", "domain", "website_name", "homepage", "content_type",
                   "website_responsible_name", "website_responsible_mobile", "website_responsible_email"]  # fmt: skip


class AddWebsiteForm(WebsiteFieldsForm):
    domain = DomainField()
    field_order = ["domain", "website_name", "homepage", "content_type", "website_responsible_name",
                   "website_responsible_mobile", "website_responsible_email"]  # fmt: skip


class ChangeSubjectForm(SubjectFieldsForm):
    pass


class ChangeWebsiteForm(WebsiteFieldsForm):
    remove_domains = forms.MultipleChoiceField(
        label=_l("删除域名"), required=False, widget=forms.CheckboxSelectMultiple
    )
    acknowledge_irreversible = forms.BooleanField(
        label=_l("我已知晓：未获批准后缀的域名删除后将永远不能再备案"), required=False
    )

    def __init__(self, *args, domains=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["remove_domains"].choices = [(d.name, d.unicode) for d in domains]


class CancelForm(forms.Form):
    password = forms.CharField(
        label=_l("备案密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        required=False,
        max_length=1000,
    )
    acknowledge_irreversible = forms.BooleanField(
        label=_l("我已知晓：未获批准后缀的域名注销后将永远不能再备案"), required=False
    )
    reason = forms.CharField(label=_l("注销原因（选填）"), max_length=500, required=False)


class CancelAccessForm(forms.Form):
    other_provider_serves = forms.BooleanField(label=_l("该网站已由其他接入商提供服务"), required=False)
    reason = forms.CharField(label=_l("原因（选填）"), max_length=500, required=False)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_l("短信验证码"),
        max_length=100,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class RecoveryForm(forms.Form):
    number = forms.CharField(
        label=_l("主体备案号"), max_length=200, help_text=_l("例如 京ICP备11018762号；填写网站备案号也可以")
    )
    certificate_type = forms.ChoiceField(label=_l("证件类型"), choices=_certificate_choices, initial="uscc")
    certificate_number = forms.CharField(label=_l("证件号码"), max_length=100)


class ResetForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=200)
    new_password = forms.CharField(label=_l("新的备案密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), max_length=1000,
                                   help_text=_l("至少 8 位，包含大写字母、小写字母、数字、符号中的至少三类"))  # fmt: skip
    confirm = forms.CharField(
        label=_l("再次输入新密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        max_length=1000,
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("confirm") and data["new_password"] != data["confirm"]:
            self.add_error("confirm", _l("两次输入的密码不一致"))
        return data


SUBJECT_FIELD_LABELS = {k: SubjectFieldsForm.base_fields[k].label for k in SubjectFieldsForm.base_fields}
WEBSITE_FIELD_LABELS = {
    "name": WebsiteFieldsForm.base_fields["website_name"].label,
    "homepage": WebsiteFieldsForm.base_fields["homepage"].label,
    "content_type": WebsiteFieldsForm.base_fields["content_type"].label,
    "responsible_name": WebsiteFieldsForm.base_fields["website_responsible_name"].label,
    "responsible_mobile": WebsiteFieldsForm.base_fields["website_responsible_mobile"].label,
    "responsible_email": WebsiteFieldsForm.base_fields["website_responsible_email"].label,
}


def change_rows(order) -> list[tuple[str, str]]:
    """The fields a change order sets, as (the form's label, the new value): 网站名称 → 新名字, not name → …"""
    labels = WEBSITE_FIELD_LABELS if order.kind == "change_website" else SUBJECT_FIELD_LABELS
    fields = (order.payload or {}).get("fields") or {}
    return [(labels.get(key, key), value) for key, value in fields.items()]


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=_l("审核意见"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
