"""A synthetic national registry (全国备案数据) for load tests and demos: ``beian synth``.

Writes docs/data-format.md's JSON Lines, one subject (主体) per line, deterministically: the same seed and
subject count give byte-identical output. Nothing is kept per subject, so memory stays flat at any size;
uniqueness comes by construction, never from a set of what was already issued:

- subject numbers (主体备案号) count up per province and year with random gaps: 8 digits (``<YY><6-digit
  seq>``) before 2020, 10 digits (``<YYYY><6-digit seq>``) from 2020;
- website numbers are ``-1``, ``-2`` … under the subject (a few apps ``-nA`` and mini-programs ``-nX``);
- domains, certificate numbers and ID numbers are counters pushed through an affine bijection of their
  space (random-looking, never repeated), decoded into word pairs, TLDs and digits;
- every certificate carries a valid check character (GB 32100 统一社会信用代码, GB 11643 身份证).

The 31 provinces are weighted like reality (广东 北京 浙江 江苏 上海 山东 large; 西藏 青海 宁夏 small);
natures mostly 企业 and 个人; names from word pools with common brand words (腾讯 阿里 百度 京东 小米 华为
网易 美团 …) in a small share so that two-character searches find something. Filings approved before
2019-04-22 may carry 2-4 domains (legacy multi-domain websites); about 5 % of subjects are cancelled
(注销: websites cancelled, domains released, password cleared); a few websites are not served here.

Contact data is fake (e-mail on example.com/.net/.org) but mobiles look real: do not point a live SMS
gateway at a synthetic registry. The filing password (备案密码) of an active subject is one of
``Synth-<seed>-0`` … ``Synth-<seed>-3``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from collections.abc import Iterator
from functools import cache
from operator import mul
from typing import TextIO

from beian.rules import natures as nature_rules
from beian.rules import provinces

AS_OF = dt.date(2026, 11, 30)  # the dataset's "today": nothing is approved or cancelled later
ONE_DOMAIN_SINCE = dt.date(2019, 4, 22)  # 工信管函〔2019〕633号: one domain per new website
TEN_DIGITS_FROM = 2020
PASSWORDS = 4

# --- provinces: share of filings (rough national shares), cities with GB/T 2260 codes -----------------------
# (code, weight, ((city, region code, weight), ...)); municipalities list districts instead of cities.
PROVINCES: tuple[tuple[str, float, tuple[tuple[str, str, int], ...]], ...] = (
    ("11", 9.0, (("海淀区", "110108", 6), ("朝阳区", "110105", 5), ("东城区", "110101", 2),
                 ("西城区", "110102", 2), ("丰台区", "110106", 2), ("昌平区", "110114", 2),
                 ("大兴区", "110115", 1), ("通州区", "110112", 1))),
    ("12", 1.5, (("和平区", "120101", 2), ("河西区", "120103", 2), ("南开区", "120104", 2),
                 ("滨海新区", "120116", 3))),
    ("13", 3.0, (("石家庄市", "130100", 5), ("唐山市", "130200", 2), ("保定市", "130600", 2),
                 ("廊坊市", "131000", 2), ("邯郸市", "130400", 1))),
    ("14", 1.2, (("太原市", "140100", 5), ("大同市", "140200", 1), ("长治市", "140400", 1))),
    ("15", 0.6, (("呼和浩特市", "150100", 4), ("包头市", "150200", 2), ("鄂尔多斯市", "150600", 1))),
    ("21", 2.0, (("沈阳市", "210100", 4), ("大连市", "210200", 4), ("鞍山市", "210300", 1))),
    ("22", 0.9, (("长春市", "220100", 5), ("吉林市", "220200", 1))),
    ("23", 1.0, (("哈尔滨市", "230100", 5), ("大庆市", "230600", 1), ("齐齐哈尔市", "230200", 1))),
    ("31", 7.0, (("浦东新区", "310115", 6), ("徐汇区", "310104", 3), ("闵行区", "310112", 3),
                 ("静安区", "310106", 2), ("杨浦区", "310110", 2), ("长宁区", "310105", 2),
                 ("普陀区", "310107", 2), ("松江区", "310117", 2), ("黄浦区", "310101", 1))),
    ("32", 8.0, (("南京市", "320100", 5), ("苏州市", "320500", 5), ("无锡市", "320200", 3),
                 ("常州市", "320400", 2), ("南通市", "320600", 2), ("徐州市", "320300", 2),
                 ("扬州市", "321000", 1))),
    ("33", 8.0, (("杭州市", "330100", 8), ("宁波市", "330200", 3), ("温州市", "330300", 3),
                 ("金华市", "330700", 3), ("绍兴市", "330600", 1), ("嘉兴市", "330400", 1),
                 ("台州市", "331000", 1))),
    ("34", 3.0, (("合肥市", "340100", 6), ("芜湖市", "340200", 1), ("蚌埠市", "340300", 1))),
    ("35", 4.0, (("厦门市", "350200", 4), ("福州市", "350100", 4), ("泉州市", "350500", 3),
                 ("莆田市", "350300", 1))),
    ("36", 1.8, (("南昌市", "360100", 5), ("赣州市", "360700", 2), ("九江市", "360400", 1))),
    ("37", 6.0, (("济南市", "370100", 5), ("青岛市", "370200", 5), ("烟台市", "370600", 2),
                 ("潍坊市", "370700", 2), ("临沂市", "371300", 2), ("淄博市", "370300", 1))),
    ("41", 4.5, (("郑州市", "410100", 6), ("洛阳市", "410300", 2), ("新乡市", "410700", 1),
                 ("安阳市", "410500", 1))),
    ("42", 3.5, (("武汉市", "420100", 7), ("宜昌市", "420500", 1), ("襄阳市", "420600", 1))),
    ("43", 3.0, (("长沙市", "430100", 7), ("株洲市", "430200", 1), ("湘潭市", "430300", 1),
                 ("岳阳市", "430600", 1))),
    ("44", 15.0, (("深圳市", "440300", 30), ("广州市", "440100", 28), ("东莞市", "441900", 10),
                  ("佛山市", "440600", 9), ("珠海市", "440400", 4), ("惠州市", "441300", 4),
                  ("中山市", "442000", 4), ("汕头市", "440500", 3))),
    ("45", 1.7, (("南宁市", "450100", 5), ("柳州市", "450200", 2), ("桂林市", "450300", 2))),
    ("46", 0.9, (("海口市", "460100", 5), ("三亚市", "460200", 2))),
    ("50", 2.0, (("渝北区", "500112", 3), ("渝中区", "500103", 2), ("江北区", "500105", 2),
                 ("南岸区", "500108", 2), ("沙坪坝区", "500106", 1))),
    ("51", 4.5, (("成都市", "510100", 8), ("绵阳市", "510700", 1), ("南充市", "511300", 1))),
    ("52", 1.0, (("贵阳市", "520100", 5), ("遵义市", "520300", 1))),
    ("53", 1.4, (("昆明市", "530100", 6), ("大理市", "532901", 1), ("丽江市", "530700", 1))),
    ("54", 0.06, (("拉萨市", "540100", 4), ("日喀则市", "540200", 1))),
    ("61", 2.3, (("西安市", "610100", 7), ("咸阳市", "610400", 1), ("宝鸡市", "610300", 1))),
    ("62", 0.5, (("兰州市", "620100", 5), ("天水市", "620500", 1))),
    ("63", 0.12, (("西宁市", "630100", 5), ("海东市", "630200", 1))),
    ("64", 0.2, (("银川市", "640100", 5), ("中卫市", "640500", 1))),
    ("65", 0.5, (("乌鲁木齐市", "650100", 5), ("克拉玛依市", "650200", 1), ("吐鲁番市", "650400", 1))),
)  # fmt: skip
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})

# Filings per approval year: grows with the internet, a dip after the 2019 rules; 2026 is a part year.
YEARS = tuple(range(2005, 2027))
YEAR_WEIGHTS = (1, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4, 4.5, 5, 6, 6.5, 7, 6.5, 7, 7.5, 7, 6.5, 6.5, 6, 5)

# 主办单位性质 (rules/data/natures.json slugs) and the certificate types each uses, weighted.
NATURES: tuple[tuple[str, float, tuple[tuple[str, int], ...]], ...] = (
    ("enterprise", 60.0, (("uscc", 97), ("org_code", 3))),
    ("individual", 30.0, (("resident_id", 960), ("passport", 15), ("hk_macao_permit", 10),
                          ("taiwan_permit", 7), ("foreign_permanent_residence", 3),
                          ("hk_macao_residence", 3), ("taiwan_residence", 2))),
    ("institution", 3.0, (("uscc", 7), ("institution_legal_person", 3))),
    ("government", 1.6, (("uscc", 9), ("org_code", 1))),
    ("social_organization", 1.3, (("uscc", 3), ("social_organization_registration", 1))),
    ("private_non_enterprise", 1.0, (("uscc", 3), ("private_non_enterprise_registration", 1))),
    ("medical", 0.8, (("uscc", 3), ("medical_licence", 2))),
    ("law_firm", 0.5, (("uscc", 7), ("law_firm_licence", 3))),
    ("foundation", 0.25, (("uscc", 4), ("foundation_registration", 1))),
    ("mass_organization", 0.2, (("uscc", 1),)),
    ("notary", 0.1, (("uscc", 3), ("notary_licence", 2))),
    ("judicial_appraisal", 0.08, (("uscc", 1), ("judicial_appraisal_licence", 1))),
    ("religious", 0.05, (("uscc", 2), ("religious_registration", 2), ("religious_corporation", 1))),
    ("overseas", 0.04, (("overseas_registration", 1),)),
    ("foreign_cultural_center", 0.02, (("foreign_cultural_center_registration", 1),)),
)  # fmt: skip
# 统一社会信用代码: 登记管理部门代码 + 机构类别代码 (GB 32100-2015, table 1)
USCC_PREFIX = {
    "enterprise": "91", "institution": "12", "government": "11", "social_organization": "51",
    "private_non_enterprise": "52", "medical": "12", "law_firm": "31", "foundation": "53",
    "mass_organization": "59", "notary": "32", "judicial_appraisal": "34", "religious": "71",
}  # fmt: skip

# --- names ---------------------------------------------------------------------------------------------------
BRANDS = (("腾讯", 5), ("阿里", 5), ("百度", 4), ("京东", 4), ("小米", 4), ("华为", 4), ("网易", 3),
          ("美团", 3), ("字节", 2), ("携程", 1), ("新浪", 1), ("搜狐", 1), ("联想", 1), ("海尔", 1),
          ("格力", 1), ("顺丰", 1), ("滴滴", 1), ("快手", 1), ("苏宁", 1), ("拼多", 1))  # fmt: skip
BRAND_SHARE = 0.03  # of 字号: about 0.3 % of enterprise names carry each of the big eight
ZIHAO_CHARS = tuple(
    dict.fromkeys(
        "华信达恒泰鑫盛源瑞博星云天宏联创智易优佳新腾汇通德富金海聚力美嘉锦乐安和兴凯辰晨宇航启卓越睿领众合"
        "诚正中大东方北南亿万千鼎峰蓝绿青红紫银翔鹏飞龙凤远景明光辉耀阳晟旭昊灿逸朗俊杰豪雅韵诺奥微思维讯"
        "数码慧酷趣萌果禾木林森川山石泉江河湖洋波润泽清澜帆舟桥城邦国家民福喜欣悦友朋仁义恒久长永康健宁平"
        "顺利成立本真实巨齐全百佰沃丰茂裕隆昌荣汉唐宋明元秦晋楚吴越蜀鲁燕赵"
    )
)
INDUSTRIES = (
    ("网络科技", 14), ("信息技术", 10), ("科技", 10), ("电子商务", 6), ("文化传媒", 5), ("教育科技", 4),
    ("软件", 3), ("贸易", 4), ("商贸", 3), ("餐饮管理", 2), ("建筑工程", 2), ("装饰工程", 2), ("物流", 2),
    ("供应链管理", 2), ("医疗器械", 1), ("生物科技", 2), ("环保科技", 1), ("新能源科技", 1),
    ("智能科技", 3), ("数据科技", 2), ("云计算", 1), ("广告", 2), ("文化发展", 2), ("影视传媒", 1),
    ("旅游发展", 1), ("酒店管理", 1), ("房地产开发", 1), ("物业管理", 1), ("企业管理咨询", 2),
    ("人力资源", 1), ("投资管理", 1), ("实业", 2), ("机械设备", 1), ("电子", 2), ("通信技术", 1),
    ("互联网科技", 2), ("游戏", 1), ("网络技术", 3), ("计算机系统", 1), ("信息科技", 3), ("农业科技", 1),
    ("食品", 1), ("服饰", 1), ("家居", 1), ("汽车服务", 1), ("健康管理", 1), ("体育文化", 1), ("设计", 1),
)  # fmt: skip
FORMS = (("有限公司", 80), ("有限责任公司", 7), ("股份有限公司", 5), ("集团有限公司", 2), ("工作室", 3),
         ("中心", 3))  # fmt: skip
SURNAMES = (
    ("王", 72), ("李", 71), ("张", 68), ("刘", 53), ("陈", 45), ("杨", 31), ("黄", 23), ("赵", 20),
    ("吴", 20), ("周", 19), ("徐", 15), ("孙", 15), ("马", 13), ("朱", 13), ("胡", 12), ("郭", 11),
    ("何", 10), ("高", 10), ("林", 10), ("罗", 9), ("郑", 9), ("梁", 8), ("谢", 7), ("宋", 7), ("唐", 7),
    ("许", 6), ("韩", 6), ("冯", 6), ("邓", 6), ("曹", 6), ("彭", 5), ("曾", 5), ("肖", 5), ("田", 5),
    ("董", 5), ("袁", 4), ("潘", 4), ("于", 4), ("蒋", 4), ("蔡", 4), ("余", 4), ("杜", 4), ("叶", 4),
    ("程", 4), ("苏", 3), ("魏", 3), ("吕", 3), ("丁", 3), ("任", 3), ("沈", 3), ("姚", 3), ("卢", 3),
    ("姜", 3), ("崔", 3), ("钟", 3), ("谭", 3), ("陆", 3), ("汪", 3), ("范", 3), ("金", 3), ("石", 3),
    ("廖", 2), ("贾", 2), ("夏", 2), ("韦", 2), ("付", 2), ("方", 2), ("白", 2), ("邹", 2), ("孟", 2),
    ("熊", 2), ("秦", 2), ("邱", 2), ("江", 2), ("尹", 2), ("薛", 2), ("闫", 2), ("段", 2), ("雷", 2),
    ("侯", 2), ("龙", 2), ("史", 2), ("陶", 2), ("黎", 2), ("贺", 2), ("顾", 2), ("毛", 2), ("郝", 2),
    ("欧阳", 1), ("司马", 1), ("上官", 1),
)  # fmt: skip
GIVEN_CHARS = tuple(
    dict.fromkeys(
        "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏辉建文斌宇浩凯健俊帆帅旭宁龙林欢阳晨鑫波雪"
        "琳婷飞博昊然轩泽子梓涵一诺欣怡佳思雨睿嘉晓海峰亮志新燕春兰梅丹慧莉倩颖璐晶蕾薇小"
    )
)
ROADS = (
    "人民路", "解放路", "建设路", "中山路", "和平路", "新华路", "文化路", "长江路", "黄河路", "科技路",
    "创业路", "学府路", "东风路", "胜利路", "青年路", "朝阳路", "光明路", "滨河路", "环城路", "工业大道",
    "世纪大道", "迎宾大道", "华夏路", "振兴路", "富民路", "高新大道", "软件园路", "金融街", "商务大道",
)  # fmt: skip
ZONES = ("", "", "", "高新技术产业开发区", "经济技术开发区", "新区", "软件园", "科技园", "自由贸易试验区")
BUILDINGS = ("", "", "", "科技大厦", "创业大厦", "国际中心", "商务中心", "金融大厦", "创新中心", "大厦")
BRANCH_CITIES = ("北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "重庆")
SITE_SUFFIXES = (
    ("官网", 20), ("官方网站", 8), ("商城", 6), ("企业官网", 5), ("在线", 3), ("云平台", 2),
    ("门户网站", 2), ("网", 4), ("博客", 1), ("资讯网", 2), ("服务平台", 2), ("管理系统", 1),
)  # fmt: skip
PERSONAL_SITES = ("的博客", "的个人网站", "的小站", "的技术笔记", "的摄影作品", "的个人主页", "的学习记录")
CONTENT_TYPES = (("无", 960), ("新闻", 8), ("出版", 5), ("教育", 12), ("医疗保健", 6), ("药品和医疗器械", 3),
                 ("文化", 4), ("广播电影电视节目", 2))  # fmt: skip
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "157",
    "158", "159", "166", "176", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191",
    "198", "199",
)  # fmt: skip
MAIL_LOCALS = ("admin", "service", "icp", "webmaster", "contact", "info", "support", "hr", "office", "it")
MAIL_HOSTS = ("example.com", "example.net", "example.org")

# --- domains -------------------------------------------------------------------------------------------------
# Labels are a prefix word and a suffix word (pinyin or English), then digits when the space needs them.
LABEL_PREFIXES = tuple(dict.fromkeys((
    "yun", "tian", "hua", "xin", "da", "zhi", "chuang", "hui", "tong", "sheng", "jin", "hai", "long",
    "feng", "xing", "chen", "yu", "hang", "qi", "zhuo", "rui", "ling", "zhong", "he", "cheng", "zheng",
    "dong", "fang", "bei", "nan", "wan", "qian", "ding", "lan", "lv", "qing", "hong", "yin", "xiang",
    "peng", "fei", "yuan", "jing", "ming", "guang", "yao", "yang", "xu", "hao", "can", "yi", "lang", "jun",
    "jie", "ya", "nuo", "ao", "wei", "si", "xun", "shu", "ma", "ku", "qu", "meng", "guo", "mu", "lin",
    "sen", "chuan", "shan", "shi", "quan", "jiang", "hu", "bo", "run", "ze", "fan", "zhou", "qiao", "bang",
    "jia", "min", "fu", "xi", "yue", "you", "ren", "kang", "jian", "ning", "ping", "shun", "li", "ben",
    "zhen", "ju", "bai", "wo", "mao", "chang", "rong", "han", "tang", "song", "qin", "chu", "wu", "lu",
    "yan", "zhao", "data", "cloud", "smart", "tech", "net", "web", "soft", "info", "go", "my", "i", "e",
    "super", "happy", "lucky", "star", "sun", "moon", "sky", "blue", "green", "red", "gold", "silver",
    "top", "best", "first", "new", "future", "link", "open", "free", "easy", "fast", "true", "good",
    "great", "big", "little", "mini", "micro", "mega", "ultra", "pro", "max", "neo", "nova", "alpha",
    "beta", "delta", "omega", "apex", "vision", "idea", "mind", "logic", "code", "byte", "bit", "pixel",
    "spark", "flash", "wave", "river", "lake", "ocean", "forest", "tree", "leaf", "seed", "root", "stone",
    "rock", "hill", "peak"
)))  # fmt: skip
LABEL_SUFFIXES = tuple(dict.fromkeys((
    "tech", "soft", "net", "web", "shop", "mall", "info", "zone", "hub", "lab", "ke", "ji", "wang", "xin",
    "kj", "keji", "wl", "wangluo", "tong", "da", "hua", "sheng", "cloud", "data", "box", "link", "home",
    "world", "land", "city", "town", "park", "house", "space", "site", "online", "club", "center", "group",
    "media", "studio", "design", "art", "music", "game", "play", "fun", "edu", "school", "book", "read",
    "news", "tv", "video", "photo", "pic", "travel", "food", "tea", "wine", "farm", "health", "med", "care",
    "car", "auto", "jia", "fang", "hr", "job", "work", "biz", "trade", "market", "store", "pay", "bank",
    "fin", "cap", "ai", "iot", "sys", "ops", "dev", "app", "api", "code", "io", "x", "go", "plus", "one",
    "china", "cn", "sz", "bj", "sh", "gz", "hz", "cd", "wh", "xa", "nj", "cq", "tj"
)))  # fmt: skip
# (suffix, slots): a suffix with more slots is proportionally more common. Classes never share a suffix
# with ASCII labels, so names are unique across classes; IDN labels are Chinese, hence distinct A-labels.
GENERAL_SUFFIXES = (
    ("com", 10), ("cn", 6), ("com.cn", 3), ("net", 2), ("top", 2), ("net.cn", 1), ("xyz", 1), ("vip", 1),
    ("cc", 1), ("shop", 1), ("ltd", 1), ("club", 1), ("site", 1), ("online", 1), ("tech", 1), ("info", 1),
    ("fun", 1), ("store", 1), ("cloud", 1), ("ink", 1), ("wang", 1), ("tv", 1), ("org", 1),
)  # fmt: skip
DOMAIN_CLASSES = {
    "general": GENERAL_SUFFIXES,
    "gov": (("gov.cn", 1),),  # 政府网站: each name is filed on its own
    "edu": (("edu.cn", 1),),
    "org": (("org.cn", 1),),
}
IDN_FIRST = tuple(dict.fromkeys((
    "云栈", "星辰", "华夏", "东方", "天地", "龙腾", "飞扬", "锦绣", "前程", "未来", "智慧", "阳光", "绿野", "蓝天", "山水", "江南", "北国",
    "岭南", "中原", "西部", "长城", "黄河", "长江", "泰山", "昆仑", "丝路", "金桥", "银河", "彩虹", "梦想", "晨曦", "青松", "明月", "清风",
    "远方", "花园", "田园", "海岸", "高原", "草原"
)))  # fmt: skip
IDN_SECOND = tuple(dict.fromkeys((
    "科技", "网络", "商城", "教育", "旅游", "文化", "传媒", "美食", "健康", "家居", "汽车", "房产", "金融", "咨询", "设计", "摄影", "音乐",
    "体育", "游戏", "动漫", "书屋", "茶业", "酒业", "农业", "医药"
)))  # fmt: skip
IDN_SUFFIXES = (("中国", 3), ("com", 2), ("cn", 2), ("公司", 1), ("网络", 1), ("net", 1))
IDN_SHARE = 0.015
CANCELLED_SHARE = 0.05  # 注销主体
SERVED_SHARE = 0.95  # 接入: the rest is filed but served by another provider (or by none: a shell)
LEGACY_SHARE = 0.15  # websites approved before 2019-04-22 with 2-4 domains
ORG_NATURES = frozenset({"social_organization", "foundation", "private_non_enterprise"})
DOMAINS_PER_SUBJECT = 2.2  # upper estimate (websites × domains), to size the domain spaces


def _cumulative(pairs) -> tuple[tuple, list[float]]:
    items, weights = zip(*pairs, strict=True)
    total, cum = 0.0, []
    for w in weights:
        total += w
        cum.append(total)
    return items, cum


class _Picker:
    """Weighted choice with one random() and a bisect (random.choices rebuilds its table every call)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs) -> None:
        self.items, self.cum = _cumulative(pairs)
        self.total = self.cum[-1]

    def pick(self, rnd: float):
        return self.items[bisect.bisect_right(self.cum, rnd * self.total)]


class _Space:
    """Index → a unique, random-looking point of [0, size): an affine bijection (multiplier coprime)."""

    __slots__ = ("size", "mult", "add")

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size = size
        mult = rng.randrange(size // 3 + 1, size) | 1 if size > 4 else 1
        while math.gcd(mult, size) != 1:
            mult += 2
        self.mult, self.add = mult % size or 1, rng.randrange(size)

    def at(self, index: int) -> int:
        if not 0 <= index < self.size:
            raise OverflowError("synthetic space exhausted: fewer subjects, please")
        return (index * self.mult + self.add) % self.size


class _Domains:
    """Unique domain names of one class: (word pair, suffix slot, level) decoded from a scrambled index.

    Each block of subjects owns the indices [block * per_block, (block + 1) * per_block), so blocks are
    generated independently (and in parallel) without ever producing the same name.
    """

    def __init__(self, pairs: tuple[str, ...], suffixes, per_block: int, blocks: int, rng) -> None:
        self.pairs, self.per_block = pairs, per_block
        self.slots: list[tuple[str, int, int]] = []  # (suffix, rank among the suffix's slots, slot count)
        for suffix, count in suffixes:
            self.slots.extend((suffix, rank, count) for rank in range(count))
        per_level = len(pairs) * len(self.slots)
        levels = max(1, math.ceil(per_block * blocks / per_level))
        self.space = _Space(per_level * levels, rng)

    def name(self, block: int, used: int) -> str:
        if used >= self.per_block:
            raise OverflowError("synthetic domain block exhausted")
        x = self.space.at(block * self.per_block + used)
        x, pair = divmod(x, len(self.pairs))
        level, slot = divmod(x, len(self.slots))
        suffix, rank, count = self.slots[slot]
        number = level * count + rank  # (level, rank) <-> number is a bijection per suffix
        return f"{self.pairs[pair]}{number if number else ''}.{suffix}"


@cache
def _ascii_pairs() -> tuple[str, ...]:
    # dict.fromkeys drops concatenations that two word pairs share (hua+nan / huan+an): names stay unique
    return tuple(dict.fromkeys(a + b for a in LABEL_PREFIXES for b in LABEL_SUFFIXES if a != b))


@cache
def _idn_pairs() -> tuple[str, ...]:
    return tuple(dict.fromkeys(a + b for a in IDN_FIRST for b in IDN_SECOND))


@cache
def password_hashes(seed: int) -> tuple[str, ...]:
    """argon2id hashes of ``Synth-<seed>-k``, salts drawn from the seed: deterministic and verifiable.

    Cost m=19 MiB, t=2, p=1 (the OWASP minimum for argon2id): cheap enough to build per run; the
    verifier rehashes with the current parameters on the first successful check.
    """
    from argon2 import Type
    from argon2.low_level import hash_secret

    rng = random.Random(f"password-salts-{seed}")
    return tuple(
        hash_secret(
            f"Synth-{seed}-{k}".encode(),
            rng.randbytes(16),
            time_cost=2,
            memory_cost=19456,
            parallelism=1,
            hash_len=32,
            type=Type.ID,
        ).decode()
        for k in range(PASSWORDS)
    )


_ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # the USCC alphabet, so that a body fits both codes
_ORG_VALUE = {ch: (int(ch) if ch.isdigit() else ord(ch) - 55) for ch in _ORG_CHARS}  # GB 11714: A=10 … Z=35


def org_code_check(body8: str) -> str:
    """GB 11714 组织机构代码 check character."""
    check = 11 - sum(map(mul, map(_ORG_VALUE.__getitem__, body8), (3, 7, 9, 10, 5, 8, 4, 2))) % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


_TIMES = tuple(f"T{9 + r // 3600:02d}:{r // 60 % 60:02d}:{r % 60:02d}+08:00" for r in range(9 * 3600))
_OTHER_PREFIX = {
    "passport": "E",
    "hk_macao_permit": "H",
    "taiwan_permit": "T",
    "hk_macao_residence": "810000",
    "taiwan_residence": "830000",
    "foreign_permanent_residence": "9156",
}
_GOV_OFFICES = (
    "人民政府", "教育局", "公安局", "市场监督管理局", "税务局", "卫生健康委员会", "文化和旅游局",
    "人力资源和社会保障局", "交通运输局", "生态环境局", "统计局",
)  # fmt: skip
_INSTITUTIONS = (
    "第{n}中学", "第{n}小学", "职业技术学院", "图书馆", "档案馆", "博物馆", "科学研究院", "广播电视台",
    "疾病预防控制中心", "大学", "实验学校",
)  # fmt: skip
_HOSPITALS = ("第{n}人民医院", "中医院", "妇幼保健院", "口腔门诊部", "社区卫生服务中心", "眼科医院")
_ASSOCIATIONS = (
    "软件行业协会", "摄影家协会", "青年企业家商会", "电子商务协会", "书法家协会", "互联网协会",
    "餐饮行业协会", "跆拳道协会", "物流与采购协会",
)  # fmt: skip
_PRIVATE_UNITS = ("培训学校", "幼儿园", "养老院", "艺术培训中心", "社会工作服务中心")
_FOUNDATIONS = ("慈善基金会", "教育基金会", "公益基金会")
_RELIGIOUS = ("基督教协会", "佛教协会", "伊斯兰教协会", "道教协会")
_NUMERALS = "一二三四五六七八九十"


class Plan:
    """What every block shares: weighted pickers, the sizes and scrambles of the unique spaces.

    Subjects are generated in blocks of ``block_size``; block ``b`` has its own RNG (seeded with the seed
    and ``b``) and its own ranges of every counter, so a block's lines depend only on (count, seed, b):
    the output is the same whether blocks are generated one after the other or by parallel workers.
    """

    def __init__(self, count: int, seed: int) -> None:
        self.count, self.seed = count, seed
        self.block_size = max(BLOCK, -(-count // MAX_BLOCKS))
        self.blocks = max(1, -(-count // self.block_size))
        rng = random.Random(f"beian-synth-{seed}")
        self.province_info = {p.code: p for p in provinces.all_provinces()}
        self.provinces = _Picker((p[0], p[1]) for p in PROVINCES)
        self.cities = {code: _Picker(((c, r), w) for c, r, w in cities) for code, _, cities in PROVINCES}
        self.years = _Picker(zip(YEARS, YEAR_WEIGHTS, strict=True))
        self.natures = _Picker((n, w) for n, w, _ in NATURES)
        self.cert_types = {n: _Picker(types) for n, _, types in NATURES}
        self.brands = _Picker(BRANDS)
        self.industries = _Picker(INDUSTRIES)
        self.forms = _Picker(FORMS)
        self.surnames = _Picker(SURNAMES)
        self.site_suffixes = _Picker(SITE_SUFFIXES)
        self.content_types = _Picker(CONTENT_TYPES)
        for code, _, types in NATURES:  # the table must agree with the rules' data
            for ctype, _ in types:
                assert ctype in nature_rules.nature(code).certificate_types, (code, ctype)
        # Subject numbers: each block owns a slice of every (province, year) sequence; inside it numbers
        # go up by random gaps sized so that the expected count fills well under half of the slice.
        p_total, y_total = sum(p[1] for p in PROVINCES), sum(YEAR_WEIGHTS)
        self.seq_slice = 999_999 // self.blocks
        self.seq_gap: dict[tuple[str, int], int] = {}
        for code, weight, _ in PROVINCES:
            for year, yw in zip(YEARS, YEAR_WEIGHTS, strict=True):
                expected = self.block_size * weight / p_total * yw / y_total
                self.seq_gap[code, year] = max(1, min(40, int(self.seq_slice / (expected * 5 + 1))))
        per_block = self.block_size * DOMAINS_PER_SUBJECT
        org_share = sum(w for n, w, _ in NATURES if n in ORG_NATURES) / sum(x[1] for x in NATURES)
        ascii_pairs, blocks = _ascii_pairs(), self.blocks
        self.domains = {
            "general": _Domains(ascii_pairs, GENERAL_SUFFIXES, int(per_block) + 500, blocks, rng),
            "gov": _Domains(ascii_pairs, DOMAIN_CLASSES["gov"], int(per_block * 0.04) + 500, blocks, rng),
            "edu": _Domains(ascii_pairs, DOMAIN_CLASSES["edu"], int(per_block * 0.04) + 500, blocks, rng),
            "org": _Domains(
                ascii_pairs, DOMAIN_CLASSES["org"], int(per_block * org_share * 2) + 500, blocks, rng
            ),
            "idn": _Domains(_idn_pairs(), IDN_SUFFIXES, int(per_block * IDN_SHARE * 2) + 500, blocks, rng),
        }
        # certificates: subject index -> a point of the type's space (each subject holds one certificate)
        self.org_codes = _Space(31**8, rng)  # 主体标识码 bodies, shared by every organisation
        self.born_base = dt.date(1940, 1, 1).toordinal()
        self.person_ids = _Space((dt.date(2005, 12, 31).toordinal() - self.born_base) * 1000, rng)  # 身份证
        self.other_ids = _Space(10**8, rng)  # passports, permits, licences
        self.as_of = AS_OF.toordinal()
        self.one_domain_since = ONE_DOMAIN_SINCE.toordinal()
        self.year_start = {y: dt.date(y, 1, 1).toordinal() for y in YEARS}
        self.year_end = {y: min(dt.date(y, 12, 31), AS_OF).toordinal() for y in YEARS}
        first = self.year_start[YEARS[0]]
        self.iso = {o: dt.date.fromordinal(o).isoformat() for o in range(first, self.as_of + 1)}
        self.hashes = password_hashes(seed)


BLOCK = 10_000
MAX_BLOCKS = 256
MAX_SUBJECTS = 20_000_000  # the resident-ID space (birth dates 1940-2005 × 1000) holds about 24 M


@cache
def plan(count: int, seed: int) -> Plan:
    return Plan(count, seed)


class Block:
    """The subjects of one block, one line at a time; state: the block's RNG and counters."""

    def __init__(self, plan: Plan, block: int) -> None:
        self.plan, self.block = plan, block
        self.rng = random.Random(f"beian-synth-{plan.seed}-{block}")
        self.first = block * plan.block_size
        self.stop = min(plan.count, self.first + plan.block_size)
        base = block * plan.seq_slice
        # start somewhere in the first half of the slice: real numbers rarely begin at 000001
        half = plan.seq_slice // 2
        self.seq_next = {key: base + 1 + int(self.rng.random() * half) for key in plan.seq_gap}
        self.seq_stop = base + plan.seq_slice
        self.domains_used = dict.fromkeys(plan.domains, 0)
        self.owner = block * plan.block_size

    # --- small helpers ---------------------------------------------------------------------------------------
    def _stamp(self, day: int) -> str:
        return self.plan.iso[day] + _TIMES[int(self.rng.random() * 32400)]

    def _person(self) -> str:
        rnd = self.rng.random
        given = GIVEN_CHARS[int(rnd() * len(GIVEN_CHARS))]
        if rnd() < 0.7:
            given += GIVEN_CHARS[int(rnd() * len(GIVEN_CHARS))]
        return self.plan.surnames.pick(rnd()) + given

    def _mobile(self) -> str:
        rnd = self.rng.random
        return MOBILE_PREFIXES[int(rnd() * len(MOBILE_PREFIXES))] + f"{int(rnd() * 10**8):08d}"

    def _email(self, tag: int) -> str:
        rnd = self.rng.random
        pool = MAIL_LOCALS if rnd() < 0.5 else LABEL_PREFIXES
        return f"{pool[int(rnd() * len(pool))]}{tag}@{MAIL_HOSTS[int(rnd() * 3)]}"

    def _zihao(self) -> str:
        rnd = self.rng.random
        chars = ZIHAO_CHARS
        if rnd() < BRAND_SHARE:
            brand = self.plan.brands.pick(rnd())
            return brand + (chars[int(rnd() * len(chars))] if rnd() < 0.5 else "")
        return chars[int(rnd() * len(chars))] + chars[int(rnd() * len(chars))]

    def _number(self, province: str) -> tuple[str, int]:
        """A subject number (主体备案号) never issued before, and its year."""
        plan = self.plan
        at = YEARS.index(plan.years.pick(self.rng.random()))
        for attempt in range(len(YEARS)):  # a full slice moves on to the next year
            y = YEARS[(at + attempt) % len(YEARS)]
            key = province, y
            seq = self.seq_next[key]
            if seq < self.seq_stop:
                self.seq_next[key] = seq + 1 + int(self.rng.random() * plan.seq_gap[key])
                digits = f"{y}{seq:06d}" if y >= TEN_DIGITS_FROM else f"{y % 100:02d}{seq:06d}"
                return f"{plan.province_info[province].abbreviation}ICP备{digits}号", y
        raise OverflowError(f"no subject numbers left in province {province}")

    def _certificate(self, index: int, nature: str, ctype: str, region: str) -> str:
        plan = self.plan
        if ctype == "uscc" or ctype == "org_code":
            x = plan.org_codes.at(index)
            body = "".join(_ORG_CHARS[(x // 31**i) % 31] for i in range(8))
            if ctype == "org_code":
                return f"{body}-{org_code_check(body)}"
            first17 = USCC_PREFIX.get(nature, "91") + region + body + org_code_check(body)
            return first17 + nature_rules.uscc_check_char(first17)
        if ctype == "resident_id":
            x = plan.person_ids.at(index)
            born = dt.date.fromordinal(plan.born_base + x // 1000)
            first17 = f"{region}{born:%Y%m%d}{x % 1000:03d}"
            return first17 + nature_rules.resident_id_check_char(first17)
        prefix = _OTHER_PREFIX.get(ctype) or region[:2] + "0" + ctype[0].upper()
        return f"{prefix}{plan.other_ids.at(index):08d}"

    def _name(self, nature: str, province: str, city: str) -> tuple[str, str]:
        """The subject's name and the 字号 its websites are named after."""
        rnd = self.rng.random
        plan = self.plan
        prov = plan.province_info[province]
        municipal = province in MUNICIPALITIES
        if nature == "enterprise":
            zihao, industry, form = self._zihao(), plan.industries.pick(rnd()), plan.forms.pick(rnd())
            r = rnd()
            if r < 0.08 and form.endswith("公司"):  # 腾讯科技（深圳）有限公司
                return (
                    f"{zihao}{industry}（{prov.short_name if municipal else city.removesuffix('市')}）{form}",
                    zihao,
                )
            if r < 0.22:
                return f"{zihao}{industry}{form}", zihao
            region = prov.short_name if municipal or r < 0.3 else city if r < 0.8 else city.removesuffix("市")
            name = f"{region}{zihao}{industry}{form}"
            if r > 0.96 and form.endswith("公司"):
                name += BRANCH_CITIES[int(rnd() * len(BRANCH_CITIES))] + "分公司"  # XX有限公司上海分公司
            return name, zihao
        if nature == "individual":
            person = self._person()
            return person, person
        return self._unit_name(nature, prov, city, municipal), self._zihao()

    def _unit_name(self, nature: str, prov, city: str, municipal: bool) -> str:
        rnd = self.rng.random
        place = prov.short_name if municipal else city

        def pick(pool):
            return pool[int(rnd() * len(pool))]

        if nature == "government":
            return place + pick(_GOV_OFFICES)
        if nature == "institution":
            return place + pick(_INSTITUTIONS).format(n=pick(_NUMERALS))
        if nature == "medical":
            return place + pick(_HOSPITALS).format(n=pick(_NUMERALS[:7]))
        if nature == "social_organization":
            return place + pick(_ASSOCIATIONS)
        if nature == "private_non_enterprise":
            return place + self._zihao() + pick(_PRIVATE_UNITS)
        if nature == "foundation":
            return prov.short_name + self._zihao() + pick(_FOUNDATIONS)
        if nature == "law_firm":
            return (prov.short_name if municipal else prov.name) + self._zihao() + "律师事务所"
        if nature == "notary":
            return place + self._zihao() + "公证处"
        if nature == "judicial_appraisal":
            return place + self._zihao() + "司法鉴定所"
        if nature == "mass_organization":
            return place + self._zihao() + "社区居民委员会"
        if nature == "religious":
            return place + pick(_RELIGIOUS)
        if nature == "overseas":
            return f"{self._zihao()}株式会社{prov.short_name}代表处"
        return self._zihao() + "文化中心"

    def _address(self, province: str, city: str) -> str:
        rnd = self.rng.random
        head = self.plan.province_info[province].name + city
        if province not in MUNICIPALITIES:
            head += ZONES[int(rnd() * len(ZONES))]
        building = BUILDINGS[int(rnd() * len(BUILDINGS))]
        tail = f"{building}{2 + int(rnd() * 28)}层" if building else ""
        return f"{head}{ROADS[int(rnd() * len(ROADS))]}{1 + int(rnd() * 998)}号{tail}"

    def _domain(self, nature: str) -> str:
        r = self.rng.random()
        if r < IDN_SHARE:
            kind = "idn"
        elif nature == "government" and r < 0.8:
            kind = "gov"
        elif nature == "institution" and r < 0.3:
            kind = "edu"
        elif nature in ORG_NATURES and r < 0.4:
            kind = "org"
        else:
            kind = "general"
        used = self.domains_used[kind]
        self.domains_used[kind] = used + 1
        return self.plan.domains[kind].name(self.block, used)

    # --- one subject -----------------------------------------------------------------------------------------
    def line(self, index: int) -> str:
        """Subject ``index`` as one line of JSON (without the newline)."""
        plan = self.plan
        rnd = self.rng.random
        province = plan.provinces.pick(rnd())
        city, region = plan.cities[province].pick(rnd())
        number, year = self._number(province)
        nature = plan.natures.pick(rnd())
        ctype = plan.cert_types[nature].pick(rnd())
        if ctype == "uscc" and year < 2016 and nature == "enterprise" and rnd() < 0.15:
            ctype = "org_code"  # before 三证合一 (2015-10) many subjects filed with the organisation code
        name, zihao = self._name(nature, province, city)
        individual = nature == "individual"
        person = name if individual else self._person()
        start, end = plan.year_start[year], plan.year_end[year]
        approved = start + int(rnd() * (end - start + 1))
        cancelled = rnd() < CANCELLED_SHARE
        cancelled_on = approved + int(rnd() * (plan.as_of - approved + 1)) if cancelled else 0
        if rnd() < 0.7 or self.owner == self.first:
            self.owner += 1  # about 1.4 subjects per customer account
        mobile, email = self._mobile(), self._email(index)
        r = rnd()
        if individual:
            sites = 1 if r < 0.8 else 2 if r < 0.95 else 3
        else:
            sites = 1 if r < 0.6 else 2 if r < 0.82 else 3 if r < 0.92 else 4 + int(rnd() * 5)
        cancel_last = (not cancelled) and sites > 1 and rnd() < 0.1  # 注销网站 of the last one
        parts = []
        for n in range(1, sites + 1):
            if n == 1:
                site_approved = approved
            else:
                latest = min(cancelled_on if cancelled else plan.as_of, approved + 2000)  # filed before 注销
                site_approved = approved + int(rnd() * (latest - approved + 1))
            suffix, service = "", "website"
            if n > 1 and not individual:
                r = rnd()
                if r < 0.04:
                    suffix, service = "A", "app"
                elif r < 0.07:
                    suffix, service = "X", "mini_program"
            site_cancelled = cancelled or (cancel_last and n == sites)
            legacy = site_approved < plan.one_domain_since and service == "website" and rnd() < LEGACY_SHARE
            names = [self._domain(nature) for _ in range(2 + int(rnd() * 3) if legacy else 1)]
            if service == "app":
                title, homepage = f"{zihao}App", ""
            elif service == "mini_program":
                title, homepage = f"{zihao}小程序", ""
            elif individual:
                title = name + PERSONAL_SITES[int(rnd() * len(PERSONAL_SITES))]
                homepage = f"https://www.{names[0]}"
            else:
                title = zihao + plan.site_suffixes.pick(rnd())
                homepage = f"{'https' if rnd() < 0.7 else 'http'}://www.{names[0]}"
            if rnd() < 0.8:
                site_person, site_mobile, site_email = person, mobile, email
            else:
                site_person, site_mobile, site_email = self._person(), self._mobile(), self._email(index)
            served = (not site_cancelled) and rnd() < SERVED_SHARE
            content = plan.content_types.pick(rnd())
            limited = "true" if rnd() < 0.005 else "false"
            approved_at = self._stamp(site_approved)
            if site_cancelled:
                on = cancelled_on or site_approved + int(rnd() * (plan.as_of - site_approved + 1))
                cancelled_at, status, domain_status = f'"{self._stamp(on)}"', "cancelled", "released"
            else:
                cancelled_at, status, domain_status = "null", "active", "active"
            domains = ",".join(f'{{"name":"{d}","status":"{domain_status}"}}' for d in names)
            parts.append(
                f'{{"number":"{number}-{n}{suffix}","name":"{title}","homepage":"{homepage}",'
                f'"content_type":"{content}","service_type":"{service}","responsible_name":"{site_person}",'
                f'"responsible_mobile":"{site_mobile}","responsible_email":"{site_email}","status":"{status}",'
                f'"served_here":{"true" if served else "false"},"limit_access":{limited},'
                f'"approved_at":"{approved_at}","cancelled_at":{cancelled_at},"domains":[{domains}]}}'
            )
        certificate = self._certificate(index, nature, ctype, region)
        address = self._address(province, city)
        password = "" if cancelled else plan.hashes[int(rnd() * PASSWORDS)]
        cancelled_at = f'"{self._stamp(cancelled_on)}"' if cancelled else "null"
        return (
            f'{{"number":"{number}","province":"{province}","nature":"{nature}","name":"{name}",'
            f'"certificate_type":"{ctype}","certificate_number":"{certificate}","address":"{address}",'
            f'"responsible_name":"{person}","responsible_mobile":"{mobile}","responsible_email":"{email}",'
            f'"status":"{"cancelled" if cancelled else "active"}","approved_at":"{self._stamp(approved)}",'
            f'"cancelled_at":{cancelled_at},"owner":"cust{self.owner:08d}","filing_password_hash":"{password}",'
            f'"websites":[{",".join(parts)}]}}'
        )

    def text(self) -> str:
        """The block's lines, each with its newline."""
        return "".join([self.line(index) + "\n" for index in range(self.first, self.stop)])


def _block_text(args: tuple[int, int, int]) -> str:
    count, seed, block = args
    return Block(plan(count, seed), block).text()


def blocks(count: int, seed: int = 1, *, jobs: int = 1) -> Iterator[str]:
    """The dataset as text blocks of JSON Lines, in order; ``jobs`` > 1 generates them in worker processes."""
    if not 0 <= count <= MAX_SUBJECTS:
        raise ValueError(f"the number of subjects must be between 0 and {MAX_SUBJECTS}")
    if count == 0:
        return
    shared = plan(count, seed)
    work = [(count, seed, b) for b in range(shared.blocks)]
    if jobs <= 1 or shared.blocks == 1:
        for args in work:
            yield _block_text(args)
        return
    import multiprocessing

    # fork: workers inherit the plan already built; imap keeps the blocks in order
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap(_block_text, work)


def lines(count: int, seed: int = 1) -> Iterator[str]:
    """The dataset as JSON Lines (without newlines), generated lazily."""
    for text in blocks(count, seed):
        yield from text.splitlines()


def write(out: TextIO, count: int, seed: int = 1, *, jobs: int = 1, progress=None) -> None:
    """Write ``count`` subject lines to ``out``; ``progress(n)`` is called after each block of n lines."""
    for text in blocks(count, seed, jobs=jobs):
        out.write(text)
        if progress:
            progress(text.count("\n"))
