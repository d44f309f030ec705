"""The demo's incidents as they would be told to the duty room (data for ``dispatch_console.demo.plan``).

Each line: category, source, severity (1 特别重大 … 4 一般), community, address, what was
reported, people involved, how many days ago, the state it has reached, and whether the caller
is the repeat caller (the same phone three times).
"""

from __future__ import annotations

from typing import NamedTuple


class IncidentTemplate(NamedTuple):
    category: str
    source: str
    severity: int
    community: str
    address: str
    description: str
    people_count: int | None
    days_ago: int
    status: str
    repeat_caller: bool = False


T = IncidentTemplate
INCIDENTS: tuple[IncidentTemplate, ...] = (
    # two days ago: handled and mostly closed
    T("dispute", "grid_staff", 4, "PS", "平山村二坊12号出租屋",
      "二坊12号三楼两户租客因楼道堆放杂物发生口角，双方情绪激动，需调解。", 2, 2, "closed"),
    T("rental_housing", "grid_staff", 4, "ZG", "珠光村北区5巷8号出租屋",
      "巡查发现该出租屋存在群租现象，一套两房隔出6个床位，楼道消防通道被堵。", 6, 2, "closed"),
    T("labor", "walk_in", 3, "GQ", "光前村工业区B栋",
      "某电子厂15名工人来访，反映被拖欠两个月工资约18万元，情绪较激动。", 15, 2, "closed"),
    T("city_management", "hotline_12345", 4, "DXC", "大学城地铁站B出口",
      "市民来电反映地铁口流动摊贩占道经营，早晚高峰影响行人通行。", None, 2, "closed"),
    T("public_order", "police_110", 3, "TY", "桃源村三期12栋楼下",
      "110转警：两名男子酒后在烧烤摊发生推搡，已被劝开，需社区跟进化解。", 2, 2, "closed"),
    T("fire", "video_alarm", 3, "TL", "塘朗村东三巷15号",
      "视频告警：巷内电动车集中充电处冒烟，网格员到场确认为电池过热，已切断电源。", None, 2, "closed"),
    T("work_safety", "enterprise", 3, "GQ", "留仙大道某工业园3栋",
      "企业报告：3栋二楼车间一名工人操作冲床时手部受伤，已送医，需安监核查。", 1, 2, "closed"),
    T("petition", "walk_in", 3, "PS", "桃源街道办事处信访接待室",
      "平山村村民8人集体来访，反映旧改项目补偿方案不合理，要求与街道领导面谈。", 8, 2, "resolved"),
    T("public_health", "grid_staff", 4, "FG", "福光村新村路22号",
      "网格员巡查发现一户天台积水容器孳生蚊虫，周边出现2例疑似登革热病例。", 2, 2, "closed"),
    T("other", "hotline_12345", 4, "LG", "龙光社区某小区4栋",
      "独居老人家中两天无人应答，邻居担心其安全，来电求助。", 1, 2, "closed"),
    T("dispute", "hotline_12345", 4, "PS", "平山村一坊6号",
      "来电人反映楼上住户深夜噪音扰民，多次沟通无果。", 2, 2, "closed", True),
    T("natural_disaster", "grid_staff", 2, "TL", "塘朗山郊野公园北侧边坡",
      "连日强降雨致边坡局部滑塌，约30立方米土方冲至山脚道路，暂无人员被困。", None, 2, "closed"),
    T("city_management", "grid_staff", 4, "FJ", "峰景社区某小区南门",
      "小区南门外建筑垃圾乱堆放约5车，影响市容和通行。", None, 2, "closed"),
    T("mass_gathering", "police_110", 3, "DXC", "大学城体育中心外广场",
      "110转警：演出散场约200名观众在广场聚集，出口拥堵，需组织疏导。", 200, 2, "closed"),
    # yesterday: some still being handled
    T("labor", "hotline_12345", 3, "FG", "福光村某装修工地",
      "来电反映装修工地包工头失联，12名工人工资未结，聚集在工地门口。", 12, 1, "resolved"),
    T("rental_housing", "walk_in", 4, "LL", "龙联花园7栋",
      "租客来访反映房东无故扣押押金4000元并强行换锁。", 1, 1, "closed"),
    T("dispute", "grid_staff", 3, "ZG", "珠光村南区2巷",
      "两户村民因宅基地边界修建围墙发生争执，现场有推搡。", 5, 1, "resolved"),
    T("fire", "police_110", 2, "GQ", "光前村工业区C栋",
      "110转警：C栋一楼仓库起火，仓库内存放纸箱，明火已扑灭，无人员伤亡。", None, 1, "resolved"),
    T("public_order", "video_alarm", 4, "TL", "塘朗村村委会停车场",
      "视频告警：夜间有人撬车窗盗窃车内财物，嫌疑人已逃离。", None, 1, "closed"),
    T("work_safety", "grid_staff", 3, "PS", "平山村某五金加工厂",
      "巡查发现厂内违规存放约20桶天那水，未设防火隔离。", None, 1, "resolved"),
    T("city_management", "hotline_12345", 4, "TY", "桃源村二期",
      "市民来电反映小区旁工地夜间施工噪音扰民，至23时仍在作业。", None, 1, "closed"),
    T("petition", "hotline_12345", 3, "LG", "龙光社区某小区",
      "业主反映物业擅自上调管理费，约30名业主计划到街道集体上访。", 30, 1, "on_scene"),
    T("dispute", "walk_in", 4, "PS", "平山村一坊6号",
      "来电人到社区工作站再次反映楼上住户噪音问题未解决，情绪激动。", 2, 1, "resolved", True),
    T("other", "grid_staff", 4, "FJ", "峰景社区公园",
      "公园内发现一名走失老人，自述记不清住址，暂由网格员陪同。", 1, 1, "closed"),
    T("public_health", "hotline_12345", 3, "DXC", "大学城某高校周边餐饮店",
      "来电反映多名学生在同一餐饮店就餐后出现腹泻呕吐，约6人就医。", 6, 1, "resolved"),
    T("natural_disaster", "enterprise", 3, "GQ", "留仙大道某工业园2栋",
      "企业报告：强风将2栋楼顶广告牌吹松，存在坠落风险，已拉警戒线。", None, 1, "dispatched"),
    T("mass_gathering", "grid_staff", 3, "ZG", "珠光村文化广场",
      "广场舞队与篮球场使用者因场地时段发生纠纷，约40人聚集。", 40, 1, "closed"),
    T("rental_housing", "grid_staff", 3, "TL", "塘朗村东五巷9号",
      "出租屋内私拉电线给电动车充电，楼道内停放电动车8辆。", None, 1, "on_scene"),
    T("labor", "walk_in", 3, "LL", "龙联社区某物流公司",
      "物流公司20名分拣员来访，反映被无故辞退且未获经济补偿。", 20, 1, "dispatched"),
    T("public_order", "grid_staff", 4, "FG", "福光村新村路口",
      "路口有人聚众赌博约6人，网格员劝阻无效。", 6, 1, "closed"),
    # today: the live queue
    T("fire", "police_110", 1, "GQ", "留仙大道某工业园3栋",
      "110转警：3栋四楼厂房起火，浓烟较大，据报有5名工人被困，消防已出动，需街道组织疏散。", 5, 0,
      "on_scene"),
    T("dispute", "grid_staff", 4, "LL", "龙联花园3栋",
      "楼上住户空调外机滴水引发邻里纠纷，双方多次争吵。", 2, 0, "on_scene"),
    T("work_safety", "enterprise", 3, "PS", "平山村某食品厂",
      "企业报告：冷库氨气轻微泄漏，已疏散员工30人，请求安监到场。", 30, 0, "on_scene"),
    T("city_management", "grid_staff", 4, "FJ", "峰景社区某小区北侧人行道",
      "人行道井盖缺失，存在行人跌落风险，已设临时围挡。", None, 0, "dispatched"),
    T("public_order", "police_110", 3, "TY", "桃源村三期商业街",
      "110转警：商铺老板与顾客因退货发生争执，一方受轻伤。", 2, 0, "dispatched"),
    T("rental_housing", "hotline_12345", 4, "ZG", "珠光村北区3巷14号",
      "来电反映出租屋进出人员复杂，怀疑存在非法经营。", None, 0, "dispatched"),
    T("petition", "walk_in", 3, "TL", "桃源街道办事处信访接待室",
      "塘朗村15名村民来访，反映村集体分红不公，要求公开账目。", 15, 0, "acknowledged"),
    T("labor", "hotline_12345", 3, "GQ", "光前村工业区A栋",
      "来电反映某制衣厂老板欠薪失联，约40名工人聚集在厂门口。", 40, 0, "acknowledged"),
    T("natural_disaster", "grid_staff", 3, "DXC", "大学城西丽湖边坡",
      "暴雨预警期间巡查发现边坡出现长约8米的裂缝，已设置警示。", None, 0, "acknowledged"),
    T("public_health", "grid_staff", 4, "PS", "平山村三坊",
      "巷内垃圾收集点多日未清运，蚊蝇孳生，居民投诉异味。", None, 0, "acknowledged"),
    T("mass_gathering", "video_alarm", 2, "DXC", "大学城地铁站A出口",
      "视频告警：地铁口人员快速聚集，估计约300人，疑似网传活动引发，需立即核实。", 300, 0, "new"),
    T("fire", "hotline_12345", 3, "FG", "福光村新村路35号",
      "来电反映楼道内有浓烈烧焦味，疑似电线短路。", None, 0, "new"),
    T("dispute", "hotline_12345", 4, "PS", "平山村一坊6号",
      "来电人第三次反映楼上住户噪音扰民，要求街道督促处理。", 2, 0, "new", True),
    T("other", "walk_in", 4, "LG", "龙光社区工作站",
      "居民来访反映小区消防通道被私家车长期占用。", None, 0, "new"),
    T("city_management", "video_alarm", 4, "TY", "桃源村二期东门",
      "视频告警：东门外有车辆违规倾倒泥头土。", None, 0, "new"),
    T("rental_housing", "grid_staff", 3, "LL", "龙联社区某城中村出租楼",
      "出租楼顶层违规搭建铁皮房，住有4人，存在消防隐患。", 4, 0, "new"),
    T("work_safety", "grid_staff", 3, "ZG", "珠光村某汽修厂",
      "汽修厂违规在室内进行喷漆作业，无通风设施。", None, 0, "new"),
    T("public_order", "police_110", 4, "FJ", "峰景社区某小区地下车库",
      "110转警：车库内多辆电动车电瓶被盗。", None, 0, "new"),
    T("labor", "enterprise", 4, "TL", "塘朗工业区某电子厂",
      "企业报告：部分员工对加班费计算有异议拒绝上岗，约25人在厂区聚集。", 25, 0, "new"),
    T("other", "other", 4, "GQ", "光前村公交站",
      "群众反映公交站候车亭玻璃破碎，存在伤人隐患。", None, 0, "new"),
)

# The note an officer adds once the first unit is on scene.
NOTES: dict[str, str] = {
    "dispute": "调解员已到场，双方同意坐下协商。",
    "petition": "信访办工作人员已到场接待，做好解释疏导。",
    "public_order": "民警到场，现场秩序已恢复。",
    "fire": "消防力量到场处置，正在排查复燃隐患。",
    "work_safety": "安监人员到场检查，已责令企业停工整改。",
    "labor": "总工会和司法所到场，组织劳资双方协商。",
    "rental_housing": "租赁所已登记核查，责令业主限期整改。",
    "city_management": "执法队员到场，已现场处置。",
    "natural_disaster": "已设置警戒区，民兵应急分队到场值守。",
    "public_health": "已通知社康中心和疾控人员到场处置。",
    "mass_gathering": "现场已增派警力疏导，人员逐步散去。",
    "other": "社工已到场跟进，做好后续回访。",
}

# Units the duty room sends first for each category (unit codes of dispatch_console.demo.plan.UNITS).
UNITS_FOR: dict[str, tuple[str, ...]] = {
    "dispute": ("tjzx-taoyuan", "sfs-taoyuan"),
    "petition": ("xfb-taoyuan", "wwb-taoyuan"),
    "public_order": ("pcs-taoyuan", "zzb-taoyuan"),
    "fire": ("xfd-taoyuan", "mbfd-taoyuan"),
    "work_safety": ("ajk-taoyuan", "qyyj-liuxian"),
    "labor": ("zgh-taoyuan", "sfs-taoyuan"),
    "rental_housing": ("zls-taoyuan", "pcs-taoyuan"),
    "city_management": ("zfd-taoyuan", "zyz-taoyuan"),
    "natural_disaster": ("mbfd-taoyuan", "wzb-taoyuan"),
    "public_health": ("jsk-taoyuan", "sgz-taoyuan"),
    "mass_gathering": ("wwb-taoyuan", "pcs-taoyuan"),
    "other": ("sgz-taoyuan", "zyz-taoyuan"),
}
