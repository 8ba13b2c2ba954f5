"""The one Chinese catalogue: every enum value a user sees and every error ``code`` the service raises, as
(zh, en) pairs. Templates use ``label(kind, value)`` and ``error_text(code)``; the API's problem+json follows
``Accept-Language`` through ``negotiate`` (Chinese first, English kept beside it).

A new error code or enum value needs its line here: ``tests/test_i18n.py`` reads every ``code`` raised in
``src/`` and fails when one has no Chinese text.
"""

from __future__ import annotations

from collections.abc import Mapping

Pair = tuple[str, str]

LABELS: dict[str, dict[str, Pair]] = {
    "role": {
        "enterprise": ("企业用户", "Enterprise"),
        "regulator": ("监管人员", "Regulator"),
        "admin": ("管理员", "Administrator"),
        "system": ("系统", "System"),
    },
    "hazard_state": {
        "reported": ("已上报", "Reported"),
        "assigned": ("已交办", "Assigned"),
        "rectifying": ("整改中", "Rectifying"),
        "verification_requested": ("待验收", "Verification requested"),
        "verified": ("已验收", "Verified"),
        "closed": ("已销号", "Closed"),
        "rejected": ("已退回", "Rejected"),
    },
    "hazard_action": {
        "assign": ("交办", "Assign"),
        "reject": ("退回", "Reject"),
        "start_rectification": ("开始整改", "Start rectification"),
        "request_verification": ("申请验收", "Request verification"),
        "verify": ("验收通过", "Verify"),
        "fail_verification": ("验收不通过", "Fail verification"),
        "close": ("销号", "Close"),
        "request_extension": ("申请延期", "Request an extension"),
        "decide_extension": ("审批延期", "Decide the extension"),
        "report": ("上报", "Report"),
        "attach": ("上传附件", "Attach a file"),
    },
    "hazard_source": {
        "self_report": ("企业自查上报", "Self-report"),
        "inspection": ("督导检查发现", "Inspection"),
        "public_report": ("群众举报查实", "Public report"),
        "other": ("其他", "Other"),
    },
    "reject_reason": {
        "not_major": ("不属于重大事故隐患", "Not a major hazard"),
        "duplicate": ("重复上报", "Duplicate"),
        "not_a_hazard": ("不构成隐患", "Not a hazard"),
        "outside_scope": ("不属于本部门职责范围", "Outside our remit"),
    },
    "evaluated_by": {
        "self": ("企业自行评估", "The enterprise itself"),
        "expert": ("专家评估", "Experts"),
        "agency": ("第三方机构评估", "A third-party agency"),
    },
    "attachment_kind": {
        "photo_before": ("整改前照片", "Photo before"),
        "photo_after": ("整改后照片", "Photo after"),
        "plan": ("整改方案", "Plan"),
        "report": ("整改报告", "Report"),
        "verification": ("验收记录", "Verification record"),
        "other": ("其他", "Other"),
    },
    "extension_decision": {
        "approve": ("同意延期", "Approve"),
        "refuse": ("不同意延期", "Refuse"),
        "pending": ("待审批", "Pending"),
        "approved": ("已同意", "Approved"),
        "refused": ("未同意", "Refused"),
    },
    # The five-point plan (五落实): measures, responsibility, funds, deadline, contingency.
    "plan_field": {
        "measures": ("整改措施", "Measures"),
        "responsible_unit": ("责任单位", "Responsible unit"),
        "responsible_person": ("责任人", "Responsible person"),
        "funds": ("整改资金和物资", "Funds and materials"),
        "deadline": ("整改时限", "Deadline"),
        "safety_measures": ("整改期间安全防范措施", "Safety measures meanwhile"),
        "contingency_plan": ("应急预案", "Contingency plan"),
    },
    "event": {
        "report": ("上报", "Reported"),
        "import": ("台账导入", "Imported"),
        "attach": ("上传附件", "File attached"),
        "extension_requested": ("申请延期", "Extension requested"),
        "extension_approved": ("同意延期", "Extension approved"),
        "extension_refused": ("不同意延期", "Extension refused"),
    },
    "measure_kind": {
        "warning_letter": ("函告", "Warning letter"),
        "circulated_notice": ("通报", "Circulated notice"),
        "summons": ("约谈", "Summons"),
        "public_exposure": ("曝光", "Public exposure"),
        "listed_supervision": ("挂牌督办", "Listed supervision"),
    },
    "measure_state": {
        "proposed": ("拟办", "Proposed"),
        "issued": ("已下达", "Issued"),
        "acknowledged": ("已签收", "Acknowledged"),
        "resolved": ("已解除", "Resolved"),
        "withdrawn": ("已撤回", "Withdrawn"),
    },
    "measure_issuer": {
        "lead_department": ("牵头部门", "Lead department"),
        "higher_level": ("上级部门", "Higher level"),
    },
    "stall": {
        "not_assigned": ("上报后未交办", "Reported, not assigned"),
        "not_started": ("交办后未整改", "Assigned, rectification not started"),
        "overdue": ("逾期未整改", "Overdue"),
        "verification_failed": ("验收多次不通过", "Verification failed repeatedly"),
        "not_verified": ("申请验收后未验收", "Verification requested, not verified"),
        "not_closed": ("验收后未销号", "Verified, not closed"),
        "self_inspection_missed": ("未按期开展自查", "Self-inspection missed"),
        "region_overdue_share": ("地区逾期比例过高", "Region's overdue share too high"),
        "region_stock_open": ("地区存量隐患未清零", "Region's stock not cleared"),
        "filing_late": ("统计报表逾期未报", "Statistics filing late"),
        "complaint_late": ("举报逾期未办结", "Complaint handling late"),
        "document_not_served": ("文书签发后未按期送达", "Document not served in time"),
    },
    "service_method": {
        "personal": ("直接送达", "Personal service"),
        "post": ("邮寄送达", "By post"),
        "electronic": ("电子送达", "Electronic service"),
        "left_at_premises": ("留置送达", "Left at the premises"),
        "public_notice": ("公告送达", "By public notice"),
    },
    "reminder_kind": {
        "rectification_deadline": ("整改期限", "Rectification deadline"),
        "self_inspection_due": ("自查周期", "Self-inspection period"),
        "filing_due": ("统计报表", "Statistics filing"),
        "complaint_due": ("举报办理期限", "Complaint handling deadline"),
    },
    "complaint_state": {
        "received": ("已接收", "Received"),
        "accepted": ("已受理", "Accepted"),
        "concluded": ("已办结", "Concluded"),
        "replied": ("已答复", "Replied"),
        "recheck_requested": ("申请复查", "Recheck requested"),
        "refused": ("不予受理", "Refused"),
        "merged": ("已合并", "Merged"),
        "in_progress": ("办理中", "In progress"),
    },
    "complaint_action": {
        "accept": ("受理", "Accept"),
        "refuse": ("不予受理", "Refuse"),
        "transfer": ("转办", "Transfer"),
        "merge": ("合并", "Merge"),
        "extend": ("延长办理期限", "Extend"),
        "conclude": ("办结", "Conclude"),
        "reply": ("答复", "Reply"),
        "request_recheck": ("申请复查", "Request a recheck"),
        "start_recheck": ("启动复查", "Start the recheck"),
        "decline_recheck": ("不予复查", "Decline the recheck"),
    },
    "complaint_channel": {
        "web": ("网上举报", "Web"),
        "hotline_12350": ("12350热线", "Hotline 12350"),
        "letter": ("来信", "Letter"),
        "visit": ("来访", "Visit"),
        "open311": ("Open311 平台", "Open311 platform"),
    },
    # What the reporter (and the partner platform that filed for them) is told the state is.
    "complaint_public_status": {
        "received": ("已接收", "Received"),
        "in_progress": ("办理中", "In progress"),
        "answered": ("已答复", "Answered"),
        "recheck_requested": ("已申请复查", "Re-check requested"),
        "not_accepted": ("不予受理", "Not accepted"),
        "handled_with_another_report": ("已与同一问题的其他举报合并办理", "Handled with another report"),
    },
    "complaint_refusal": {
        "duplicate": ("重复举报", "Duplicate"),
        "no_target_or_facts": ("无明确对象或事实", "No target or facts"),
        "outside_scope": ("不属于受理范围", "Outside scope"),
    },
    "complaint_outcome": {
        "substantiated": ("属实，构成重大事故隐患", "Substantiated"),
        "general_violation": ("属实，一般违法行为", "General violation"),
        "unsubstantiated": ("不属实", "Unsubstantiated"),
    },
    "reward_status": {
        "proposed": ("拟奖励", "Proposed"),
        "approved": ("已批准", "Approved"),
        "claimed": ("已申领", "Claimed"),
        "paid": ("已发放", "Paid"),
    },
    "notice_status": {
        "pending": ("待发送", "Pending"),
        "sent": ("已发送", "Sent"),
        "dead": ("发送失败", "Dead letter"),
    },
    "notice_channel": {
        "webhook": ("接口推送", "Webhook"),
        "email": ("电子邮件", "E-mail"),
        "upward": ("逐级上报", "Upward report"),
    },
    "sector": {
        "hazardous_chemicals": ("危险化学品", "Hazardous chemicals"),
        "industry_trade": ("工贸", "Industry and trade"),
        "construction": ("房屋市政工程", "Construction"),
        "mining": ("矿山", "Mining"),
        "fireworks": ("烟花爆竹", "Fireworks"),
        "road_transport": ("道路运输", "Road transport"),
        "fire": ("消防", "Fire safety"),
        "gas": ("城镇燃气", "Town gas"),
    },
    # --- console part 2: 督办, 举报处理, 季报/自查, 管理 ---
    "measure_action": {
        "issue": ("签发", "Issue"),
        "acknowledge": ("签收", "Acknowledge"),
        "resolve": ("办结", "Resolve"),
        "withdraw": ("撤回", "Withdraw"),
        "take_down": ("撤下/摘牌", "Taken down"),
        "propose": ("系统提出建议", "Proposed"),
    },
    "target_kind": {
        "enterprise": ("企业", "Enterprise"),
        "department": ("部门", "Department"),
        "region": ("地区", "Region"),
    },
    "complaint_event": {
        "submit": ("收到举报", "Received"),
        "accept": ("受理", "Accepted"),
        "refuse": ("不予受理", "Refused"),
        "transfer": ("转办", "Transferred"),
        "merge": ("合并", "Merged"),
        "merged_in": ("并入另一件举报", "Another report merged in"),
        "extend": ("延长办理期限", "Extended"),
        "conclude": ("办结", "Concluded"),
        "reply": ("答复举报人", "Replied"),
        "request_recheck": ("举报人申请复查", "Recheck requested"),
        "start_recheck": ("启动复查", "Recheck started"),
        "decline_recheck": ("不予复查", "Recheck declined"),
        "reporter_message": ("举报人留言", "Reporter wrote"),
        "file_added": ("补充证据", "File added"),
        "message_question": ("向举报人询问", "Question to the reporter"),
        "message_note": ("内部备注", "Internal note"),
        "identity_reveal_requested": ("申请披露举报人身份", "Identity reveal requested"),
        "identity_reveal_approved": ("批准披露举报人身份", "Identity reveal approved"),
        "identity_reveal_refused": ("拒绝披露举报人身份", "Identity reveal refused"),
        "identity_viewed": ("查看举报人身份", "Identity viewed"),
        "reward_proposed": ("提出奖励建议", "Reward proposed"),
        "reward_approved": ("批准奖励", "Reward approved"),
        "reward_claimed": ("举报人申领奖励", "Reward claimed"),
        "reward_paid": ("发放奖励", "Reward paid"),
    },
    "message_kind": {
        "question": ("询问", "Question"),
        "answer": ("回复", "Answer"),
        "result": ("办理结果", "Result"),
        "note": ("内部备注", "Note"),
        "recheck": ("复查申请", "Recheck request"),
        "reward": ("奖励", "Reward"),
        "evidence": ("证据", "Evidence"),
    },
    "message_direction": {
        "to_reporter": ("致举报人", "To the reporter"),
        "from_reporter": ("举报人来信", "From the reporter"),
        "internal": ("内部", "Internal"),
    },
    "reveal_state": {
        "pending": ("待审批", "Pending"),
        "approved": ("已批准", "Approved"),
        "refused": ("已拒绝", "Refused"),
    },
    "reward_basis": {
        "fine": ("按罚款金额（15%，3千至30万元）", "Share of the fine"),
        "concealed_deaths": ("查实瞒报死亡", "Concealed deaths"),
    },
    "accident_class": {
        "general": ("一般事故", "General"),
        "larger": ("较大事故", "Larger"),
        "major": ("重大事故", "Major"),
        "especially_major": ("特别重大事故", "Especially major"),
    },
    "filing_kind": {"quarterly": ("季报", "Quarterly"), "annual": ("年报", "Annual")},
    "filing_status": {
        "filed": ("按期报送", "Filed on time"),
        "filed_late": ("逾期补报", "Filed late"),
        "late": ("逾期未报", "Late"),
        "pending": ("未到期", "Not yet due"),
    },
    "filing_figure": {
        "found_in_period": ("本期新发现重大事故隐患", "Found in the period"),
        "closed_in_period": ("本期销号", "Closed in the period"),
        "open_at_end": ("期末未销号", "Open at the end"),
        "overdue_at_end": ("期末超期未整改", "Overdue at the end"),
        "stock_open_at_end": ("期末存量未销号", "Stock open at the end"),
    },
    "notice_action": {
        "issue": ("签发", "Issued"),
        "take_down": ("撤下/摘牌", "Taken down"),
        "resolve": ("办结", "Resolved"),
        "withdraw": ("撤回", "Withdrawn"),
        "report": ("上报", "Reported upward"),
    },
    "recipient_role": {
        "enterprise_principal": ("主要负责人", "Principal"),
        "enterprise_controller": ("实际控制人", "Actual controller"),
        "officer": ("经办人员", "Officer"),
        "department_head": ("部门负责人", "Department head"),
        "upper_level": ("上级部署", "The level above"),
    },
    # Upward reporting (逐级上报): where a child region's figures in a report came from
    "figures_source": {
        "local": ("本级", "Local"),
        "received": ("下级上报", "Received"),
        "mixed": ("本级与下级上报", "Local and received"),
    },
}

ERRORS: dict[str, Pair] = {
    # Upward reporting (upward/)
    "upward_unknown_deployment": ("未登记的下级部署", "Unknown or inactive downstream deployment"),
    "upward_bad_signature": ("签名校验失败", "The signature does not match"),
    "upward_stale_timestamp": ("请求时间戳超出允许范围", "The timestamp is outside the accepted window"),
    "upward_replayed": ("重复使用的签名（疑似重放）", "This signature was already used (replay)"),
    "upward_region_not_allowed": ("该下级部署无权上报此地区", "The deployment may not report for this region"),
    "upward_deployment_mismatch": ("报告中的部署标识与请求不符", "The document names another deployment"),
    "upward_digest_mismatch": ("报告摘要与内容不符", "The digest does not match the content"),
    "upward_period_not_ended": ("报告期尚未结束", "The period has not ended yet"),
    "upward_region_has_local_hazards": (
        "本级已登记该地区本期隐患，不能再接收下级上报",
        "This deployment holds hazards of the region for the period itself",
    ),
    "upward_cutoff_mismatch": (
        "存量隐患统计截止日期与本级不一致",
        "The campaign cut-off differs from this deployment's",
    ),
    "upward_revision_conflict": ("同一版本号的报告内容不同", "Another document was received with this revision"),
    "upward_not_configured": ("未配置逐级上报", "Upward reporting is not configured"),
    "upward_region_taken": ("该地区已登记给其他下级部署", "The region is already registered to a downstream"),
    "upward_deployment_exists": ("该部署标识已登记", "A downstream with this deployment id exists"),
    "downstream_not_found": ("未找到该下级部署", "Downstream deployment not found"),
    # Hostile input and a lost database (edge.py, uploads.py, ledgers/importer.py, errors.py)
    "database_unavailable": ("数据库暂时无法访问，请稍后重试", "The database cannot be reached; retry shortly"),
    "image_too_large": ("图片像素过多，请缩小后再上传", "The image has too many pixels"),
    "too_many_cells": ("表格单元格过多，请拆分后再导入", "The spreadsheet has too many cells"),
    "xlsx_too_large": ("表格文件解压后过大，请拆分后再导入", "The spreadsheet unpacks to too much data"),
    # Administrators' levels and rights (auth/service.py, reference/service.py)
    "admin_level_forbidden": ("只能管理本地区下级的账号", "Only accounts below your own level may be managed"),
    "self_grant_forbidden": ("不能修改自己的权限或状态", "Nobody changes their own rights or activation"),
    "reveal_grant_by_creator": (
        "查看举报人身份的权限须由创建该账号以外的管理员授予",
        "The right to reveal reporters must be granted by an administrator other than the account's creator",
    ),
    "national_admin_required": (
        "此项为全国参考数据，须由国家级管理员维护",
        "Only a national administrator may change this",
    ),
    "enterprise_invalid": ("企业信息有误或不在本地区", "The enterprise is invalid or outside the region"),
    # General (errors.py, main.py)
    "bad_request": ("请求有误", "Bad request"),
    "invalid_input": ("填写的内容有误，请检查标出的字段", "Invalid input"),
    "not_authenticated": ("请先登录", "Not authenticated"),
    "forbidden": ("无权进行此操作", "Forbidden"),
    "not_found": ("未找到，或不在您的管辖范围内", "Not found"),
    "conflict": ("与现有记录冲突", "Conflict"),
    "gate_failed": ("不满足办理条件", "Precondition of the action not met"),
    "wrong_state": ("当前状态下不能进行此操作", "Action not allowed in the current state"),
    "version_conflict": ("该记录已被他人修改，请刷新后重试", "The record was changed by someone else"),
    "version_required": ("缺少版本号，请刷新后重试", "Version required"),
    "payload_too_large": ("文件或请求过大", "Payload too large"),
    "unsupported_media_type": ("不支持的文件类型", "Unsupported media type"),
    "too_many_requests": ("操作过于频繁，请稍后再试", "Too many requests"),
    "method_not_allowed": ("不支持的请求方式", "Method not allowed"),
    "not_acceptable": ("无法提供所请求的格式", "Not acceptable"),
    "http_error": ("请求失败", "HTTP error"),
    "internal_error": ("系统内部错误，已记录，请稍后再试", "Internal error"),
    "database_busy": ("系统繁忙，请稍后重试", "Database busy"),
    "csrf_failed": ("表单已失效，请刷新页面后重新提交", "The form expired; reload the page and submit again"),
    "session_expired": ("会话已过期，请重新登录", "Your session expired; sign in again"),
    # Accounts
    "invalid_credentials": ("用户名或密码错误", "Wrong username or password"),
    "invalid_token": ("登录凭证已失效，请重新登录", "The token is no longer valid"),
    "role_forbidden": ("您的角色不能进行此操作", "Your role may not do this"),
    "username_taken": ("用户名已被占用", "Username taken"),
    "user_not_found": ("未找到该用户", "User not found"),
    "region_unknown": ("行政区划代码不存在", "Unknown region"),
    "region_forbidden": ("不在您的管辖地区内", "Outside your region"),
    "password_login_disabled": (
        "您的角色须使用统一身份认证登录，不能使用密码登录",
        "Password sign-in is switched off for your role: sign in through single sign-on",
    ),
    "account_deactivated": ("账号已停用，请联系管理员", "The account is deactivated"),
    # Single sign-on (auth/oidc.py, auth/sso.py)
    "oidc_not_configured": ("未启用统一身份认证", "Single sign-on is not configured"),
    "upstream_unavailable": ("依赖的外部服务暂时无法访问，请稍后重试", "An upstream service is unavailable"),
    "oidc_provider_unavailable": (
        "统一身份认证服务暂时无法访问，请稍后重试",
        "The identity provider cannot be reached; retry shortly",
    ),
    "oidc_state_invalid": (
        "登录请求已失效，请重新登录",
        "The sign-in request expired or does not match; sign in again",
    ),
    "oidc_replayed": ("该登录请求已使用过，请重新登录", "This sign-in answer was already used"),
    "oidc_failed": ("统一身份认证未完成登录，请重试", "The identity provider did not complete the sign-in"),
    "oidc_token_invalid": ("统一身份认证的身份令牌无效或已过期，请重新登录", "The ID token is invalid or expired"),
    "oidc_subject_unmapped": (
        "您的统一身份认证账号尚未开通本系统权限，请联系管理员",
        "No account is linked to your single sign-on identity; ask an administrator",
    ),
    "oidc_link_exists": ("该统一身份认证账号已关联其他用户", "This identity is linked to another user already"),
    "oidc_link_not_found": ("未找到该关联", "Link not found"),
    "oidc_rule_not_found": ("未找到该映射规则", "Claim rule not found"),
    # Reference data
    "region_not_found": ("未找到该行政区划", "Region not found"),
    "region_invalid": ("行政区划代码无效", "Invalid region code"),
    "region_exists": ("行政区划已存在", "Region exists"),
    "department_not_found": ("未找到该部门", "Department not found"),
    "department_exists": ("部门已存在", "Department exists"),
    "enterprise_not_found": ("未找到该企业", "Enterprise not found"),
    "enterprise_exists": ("企业已存在", "Enterprise exists"),
    "standard_not_found": ("未找到该判定标准", "Standard not found"),
    "standard_exists": ("判定标准已存在", "Standard exists"),
    "clause_not_found": ("未找到该判定条款", "Clause not found"),
    "clause_exists": ("判定条款已存在", "Clause exists"),
    "clause_not_in_force": ("该条款在发现日期不在有效期内", "The clause was not in force on the date found"),
    "no_lead_department": ("该地区该行业没有牵头部门", "No lead department for the region and sector"),
    "calendar_invalid": ("节假日表有误", "Invalid holiday table"),
    "calendar_year_unknown": ("该年度的节假日表尚未导入", "Holiday table for the year not loaded"),
    # Hazards
    "hazard_not_found": ("未找到该隐患，或不在您的管辖范围内", "Hazard not found"),
    "hazard_required": ("需要关联隐患", "A hazard is required"),
    "source_not_allowed": ("您不能以此来源上报隐患", "Source not allowed for your role"),
    "found_at_in_future": ("发现日期不能晚于今天", "The date found cannot be in the future"),
    "invalid_cursor": ("翻页参数无效，请回到第一页", "Invalid cursor"),
    "invalid_if_match": ("版本号格式无效", "Invalid If-Match"),
    "deadline_in_past": ("整改期限不能早于今天", "The deadline cannot be in the past"),
    "officer_invalid": (
        "经办人须为牵头部门的在职监管人员",
        "The officer must be a regulator of the lead department",
    ),
    "department_invalid": ("部门无效", "Invalid department"),
    "duplicate_link_required": ("重复上报须注明重复的隐患", "A duplicate needs the hazard it duplicates"),
    "duplicate_link_invalid": ("所注明的重复隐患无效", "Invalid duplicate link"),
    "plan_incomplete": ("五落实整改方案不完整", "The five-point plan is incomplete"),
    "plan_deadline_too_late": ("方案完成时限不能晚于交办的整改期限", "The plan's deadline is after the assigned one"),
    "evidence_required": ("请至少上传一份整改材料", "Attach at least one evidence file"),
    "evidence_unknown": ("所选材料不属于该隐患", "Evidence not attached to this hazard"),
    "verifier_is_reporter": ("上报人不能验收本隐患", "The reporter may not verify"),
    "closer_is_verifier": ("验收人不能同时销号（双人原则）", "Two-person rule: the verifier may not close"),
    "closing_authority_required": ("您没有销号权限", "Closing authority required"),
    "attachment_not_found": ("未找到该附件", "Attachment not found"),
    "file_not_found": ("未找到该文件", "File not found"),
    "extension_not_found": ("未找到该延期申请", "Extension not found"),
    "extension_pending": ("已有待审批的延期申请", "An extension is already pending"),
    "extension_decided": ("该延期申请已审批", "The extension was already decided"),
    "extension_not_later": ("延期后的期限须晚于原期限", "The new deadline must be later"),
    "idempotency_key_reused": ("重复提交的请求内容不一致", "Idempotency key reused with another request"),
    # Supervision
    "measure_not_found": ("未找到该督办措施", "Measure not found"),
    "measure_forbidden": ("您不能对该督办措施进行此操作", "Not allowed on this measure"),
    "rule_not_found": ("未找到该升级规则", "Rule not found"),
    "rule_exists": ("升级规则已存在", "Rule exists"),
    "rule_retired": ("该升级规则已停用", "Rule retired"),
    "empty_revision": ("新版本没有任何修改", "The revision changes nothing"),
    "recurrence_invalid": ("周期设置无效", "Invalid recurrence"),
    "self_inspection_not_found": ("未找到该自查记录", "Self-inspection not found"),
    "notice_not_found": ("未找到该通知", "Notice not found"),
    # Documents and their service
    "measure_not_issued": ("该督办措施尚未签发，还没有文书", "The measure is not issued; it has no document yet"),
    "hazard_not_assigned": ("隐患交办后才有整改通知书", "A rectification notice exists once the hazard is assigned"),
    "service_invalid": ("送达记录不完整", "The service record is incomplete"),
    "service_forbidden": ("只有发文方可以登记送达", "Only the issuing side records service"),
    "service_not_found": ("未找到该送达记录", "Service record not found"),
    "receipt_scan_not_found": ("该送达记录没有回证扫描件", "No receipt scan for this service"),
    # Statistics and filings
    "invalid_period": ("统计期间无效", "Invalid period"),
    "period_not_ended": ("该期间尚未结束", "The period has not ended"),
    "already_filed": ("本期报表已报送", "Already filed"),
    # Ledgers
    "file_empty": ("文件为空", "The file is empty"),
    "unreadable_file": ("无法读取该文件", "Unreadable file"),
    "missing_columns": ("文件缺少必需的列", "Missing columns"),
    "invalid_mapping": ("列对应关系无效", "Invalid column mapping"),
    "too_many_rows": ("文件行数超过上限", "Too many rows"),
    "import_rejected": ("文件中有错误的行，未导入任何内容", "Some rows are invalid; nothing was imported"),
    # Complaints
    "complaint_not_found": ("未找到该举报", "Complaint not found"),
    "receipt_unknown": ("查询码无效", "Unknown receipt"),
    "intake_right_required": ("您没有受理举报的权限", "Complaint intake right required"),
    "too_many_files": ("附件数量超过上限", "Too many files"),
    "not_substantiated": ("该举报未被认定属实", "The complaint was not substantiated"),
    "merge_target_invalid": ("合并目标无效", "Invalid merge target"),
    "already_extended": ("办理期限已延长过", "Already extended"),
    "recheck_limit": ("复查次数已达上限", "Recheck limit reached"),
    "reporter_anonymous": ("举报人匿名，无可披露的身份", "The reporter is anonymous"),
    "reveal_not_found": ("未找到该身份披露申请", "Reveal request not found"),
    "reveal_not_yours": ("这不是您的身份披露申请", "Not your reveal request"),
    "reveal_not_approved": ("身份披露申请尚未批准", "Reveal not approved"),
    "reveal_right_required": ("您没有审批身份披露的权限", "Reveal right required"),
    "reveal_self_approval": ("不能审批自己的申请", "You may not approve your own request"),
    "reward_not_found": ("未找到该奖励", "Reward not found"),
    "reward_exists": ("该举报已有奖励", "Reward exists"),
    "reward_unclaimed": ("奖励尚未申领", "Reward not claimed"),
    "reward_self_approval": ("不能审批自己提出的奖励", "You may not approve your own proposal"),
    # Open311 GeoReport v2 (open311/)
    "api_key_missing": ("缺少 api_key", "api_key missing"),
    "api_key_invalid": ("api_key 无效", "Invalid api_key"),
    "api_key_revoked": ("该 api_key 已被吊销", "The api_key was revoked"),
    "partner_region_forbidden": ("该 api_key 无权在此地区提交举报", "The api_key may not file in this region"),
    "partner_not_found": ("未找到该接入平台", "Partner platform not found"),
    "service_code_unknown": ("未知的服务类别（service_code）", "Unknown service_code"),
    "request_not_found": ("未找到该服务请求", "Service request not found"),
    "token_not_found": ("未找到该令牌", "Token not found"),
    "jurisdiction_unknown": ("本接口不服务该辖区（jurisdiction_id）", "Unknown jurisdiction_id"),
    "form_required": ("请以 application/x-www-form-urlencoded 表单（UTF-8）提交", "Send a url-encoded UTF-8 form"),
    "field_repeated": ("字段重复提交", "A field was given more than once"),
    "attribute_unknown": ("该服务没有此属性", "Not an attribute of this service"),
    "attribute_invalid": ("属性值无效", "Invalid attribute value"),
    "attribute_required": ("缺少服务定义要求的属性", "An attribute the service requires is missing"),
    "location_required": ("请提供位置：经纬度、地址或地址编码", "Send lat and long, address_string or address_id"),
    "location_invalid": ("位置无效（经纬度须成对提供且位于中国境内）", "Invalid location"),
    "description_required": ("请描述所见的问题", "Describe what was seen"),
    "date_range_invalid": ("日期范围无效（不超过90天）", "Invalid date range (90 days at most)"),
}

ZH, EN = 0, 1


def label(kind: str, value: object, lang: int = ZH) -> str:
    """The user's word for an enum value; an unknown value shows as itself (never a blank)."""
    if value is None:
        return ""
    key = str(getattr(value, "value", value))
    pair = LABELS.get(kind, {}).get(key)
    return pair[lang] if pair else key


def labels(kind: str) -> Mapping[str, str]:
    """value → Chinese label, in catalogue order (for a <select>)."""
    return {k: v[ZH] for k, v in LABELS.get(kind, {}).items()}


def error_text(code: str, lang: int = ZH) -> str:
    pair = ERRORS.get(code)
    return pair[lang] if pair else code


def prefers_chinese(accept_language: str | None) -> bool:
    """Chinese unless the client asks for English ahead of Chinese: no header, ``*`` or ``zh*`` → Chinese."""
    if not accept_language:
        return True
    best, best_q = "", -1.0
    for part in accept_language.split(","):
        lang, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = lang.strip().lower()
        if lang and (lang.startswith(("zh", "en")) or lang == "*") and q > best_q:
            best, best_q = lang, q
    return not best.startswith("en")


def negotiate(code: str, title: str, detail: str, accept_language: str | None) -> dict[str, str]:
    """The problem's ``title`` and ``detail`` in the client's language, the other language kept beside them.

    Chinese (the default): the catalogue's Chinese title, and a detail that leads with the Chinese message and
    keeps the English specifics after it; ``title_en``/``detail_en`` hold the English as it was. English
    (``Accept-Language: en`` preferred): unchanged, with ``title_zh``/``detail_zh`` added.
    """
    zh = ERRORS.get(code)
    if zh is None:
        return {"title": title, "detail": detail}
    if prefers_chinese(accept_language):
        return {"title": zh[ZH], "detail": f"{zh[ZH]}（{detail}）", "title_en": title, "detail_en": detail}
    return {"title": title, "detail": detail, "title_zh": zh[ZH], "detail_zh": zh[ZH]}
