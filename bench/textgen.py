"""Realistic duty-room text for generated incidents: places in 桃源街道, reports as a caller or a
grid officer would phrase them, names and mobile numbers. Deterministic for a given seed."""

from __future__ import annotations

import random
from dataclasses import dataclass

from dispatch_console.incidents.draft import IncidentDraft

PLACES = ("平山村", "珠光村", "光前村", "塘朗村", "福光村", "桃源村", "龙光社区", "峰景社区", "大学城社区",
          "龙联花园", "华侨城创意园", "留仙大道工业园")
SPOTS = ("{n}栋楼下", "{n}号出租屋", "东{n}巷", "北区{n}巷{m}号", "工业区{c}栋", "{n}号商铺门口", "地铁站{c}出口",
         "农贸市场{n}号摊位", "小区南门", "{n}栋{m}01房", "篮球场旁", "公交站台")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红梅海燕鑫宇浩然子涵欣怡俊杰思远晓东"
PREFIXES = ("138", "139", "135", "136", "137", "150", "151", "158", "159", "186", "188", "189", "177", "199")

# category → (source, report) templates; {p} place, {n}/{m} numbers, {k} people
REPORTS: dict[str, tuple[str, ...]] = {
    "dispute": ("{p}两户邻居因楼道堆放杂物发生口角，双方情绪激动，需调解。",
                "来电人反映楼上住户深夜噪音扰民，多次沟通无果，请求协调。",
                "{p}商铺与顾客因退货问题发生争执，围观群众约{k}人。"),
    "petition": ("{p}村民{k}人集体来访，反映旧改项目补偿方案不合理，要求与街道领导面谈。",
                 "来访人反映宅基地确权问题多年未解决，情绪较激动。"),
    "public_order": ("110转警：{p}烧烤摊两名男子酒后推搡，已被劝开，需社区跟进化解。",
                     "网格员巡查发现{p}有可疑人员多次尾随住户进入楼栋。"),
    "fire": ("视频告警：{p}电动车集中充电处冒烟，网格员到场确认为电池过热。",
             "居民来电称{p}厨房起火，已自行扑灭，请求消防安全检查。",
             "{p}楼道消防通道被杂物堵塞，存在火灾隐患。"),
    "work_safety": ("企业报告：{p}车间一名工人操作冲床时手部受伤，已送医，需安监核查。",
                    "{p}建筑工地脚手架未设防护网，高处作业人员未系安全带。"),
    "labor": ("{p}某电子厂{k}名工人来访，反映被拖欠两个月工资约{n}万元，情绪较激动。",
              "来电反映装修工地包工头失联，{k}名工人工资未结，聚集在工地门口。"),
    "rental_housing": ("巡查发现{p}存在群租现象，一套两房隔出{n}个床位，楼道消防通道被堵。",
                       "{p}出租屋租客更换频繁，未按规定登记居住信息。"),
    "city_management": ("市民来电反映{p}流动摊贩占道经营，早晚高峰影响行人通行。",
                        "{p}建筑垃圾乱堆放约{n}车，影响市容和通行。", "{p}路面井盖松动，夜间行车存在安全隐患。"),
    "natural_disaster": ("连日强降雨致{p}边坡局部滑塌，约{n}立方米土方冲至山脚道路，暂无人员被困。",
                         "台风过境，{p}一棵大树倒伏压住两辆私家车，需清理。"),
    "public_health": ("网格员巡查发现{p}天台积水容器孳生蚊虫，周边出现{m}例疑似登革热病例。",
                      "{p}餐饮店后厨卫生条件差，居民投诉有异味。"),
    "mass_gathering": ("110转警：{p}演出散场约{k}名观众聚集，出口拥堵，需组织疏导。",
                       "{p}约{k}名业主聚集在售楼处门口，要求开发商按期交房。"),
    "other": ("独居老人家中两天无人应答，邻居担心其安全，来电求助。", "{p}有一只流浪犬多次追咬路人，请求处置。",
              "{p}小区电梯故障，一名老人被困，物业暂未到场。"),
}
SOURCES = ("grid_staff", "hotline_12345", "police_110", "walk_in", "video_alarm", "enterprise")
SEVERITY_WEIGHTS = (1, 4, 25, 70)  # Ⅰ … Ⅳ: most incidents are 一般


@dataclass(frozen=True)
class Report:
    category: str
    source: str
    severity: int
    address: str
    description: str
    reporter_name: str
    reporter_phone: str
    people_count: int | None


def address(rng: random.Random) -> str:
    spot = rng.choice(SPOTS).format(n=rng.randint(1, 40), m=rng.randint(1, 12), c=rng.choice("ABCDE"))
    return rng.choice(PLACES) + spot


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _i in range(rng.choice((1, 2))))


def phone(rng: random.Random) -> str:
    return rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"


def report(rng: random.Random) -> Report:
    category = rng.choice(tuple(REPORTS))
    where = address(rng)
    people = rng.choice((None, None, 1, 2, 3, 5, 8, 12, 30))
    text = rng.choice(REPORTS[category]).format(p=where, n=rng.randint(2, 60), m=rng.randint(1, 5),
                                                k=people or rng.randint(2, 20))
    severity = rng.choices((1, 2, 3, 4), SEVERITY_WEIGHTS)[0]
    return Report(category, rng.choice(SOURCES), severity, where, text, person(rng), phone(rng), people)


def draft(rng: random.Random, grid_ids: list[int] | tuple[int, ...] = ()) -> IncidentDraft:
    """A new incident as an officer would record it (in one of ``grid_ids`` if any)."""
    r = report(rng)
    return IncidentDraft(
        category=r.category, severity=r.severity, source=r.source, description=r.description,
        address=r.address, reporter_name=r.reporter_name, reporter_phone=r.reporter_phone,
        people_count=r.people_count, grid_id=rng.choice(grid_ids) if grid_ids else None,
    )
