"""Cases (案件): dispute cases (矛盾纠纷) and petition cases (信访事项).

Owns the case and its parties (当事人, ID numbers checked and masked), the incidents it came from,
mediation sessions and their outcome (调解协议 with its terms, or the referral), the 30-day
judicial-confirmation reminder (司法确认), follow-up visits (回访) with their results, the petition
steps and their deadlines (受理 / 答复 / 复查 / 复核, 信访工作条例), the board's reads and the
monthly ledger (矛盾纠纷排查调处台账) as a spreadsheet.

Modules: ``policy`` (``policies/cases.toml``, ``policies/petition.toml``), ``parties`` (ID
numbers, masking), ``records`` (the shared write helpers), ``service`` (opening, risk, mediation,
visits, closing), ``petition`` (the petition steps), ``effects`` (what an incident change and a
fired deadline do), ``reads`` (the board, the detail, what falls due), ``ledger`` (the export).
"""
