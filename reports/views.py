"""Report pages and their exports, for admins and centre managers; every view is audited."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from lms import audit
from lms.db import utcnow, writing
from lms.extensions import db
from lms.models import Role
from lms.permissions import roles_required
from reports import queries
from reports.exports import XLSX_MIMETYPE, table_csv, tables_xlsx
from reports.filters import Filters
from reports.pdf import FunderReport, Section, chart_from
from reports.svg import bar_chart
from reports.tables import MIN_GROUP, chart_value, display

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")

PDF_LANGUAGES = ("en", "bg")


def _audit(action: str, report: queries.Report, filters: Filters, **data) -> None:
    """Write the view or export to the audit log (its own short write, in a read request)."""
    with writing(db.session):
        audit.record(
            action,
            report,
            actor=current_user._get_current_object(),
            filters=filters.to_args() or None,
            **data,
        )


def _report(name: str, filters: Filters) -> queries.Report:
    build = queries.REPORTS.get(name)
    if build is None:
        abort(404)
    return build(filters)


def _charts(report: queries.Report) -> list[dict]:
    """Return each chart as SVG with the table it is drawn from."""
    charts = []
    for chart in report.charts:
        table = report.table(chart.table)
        labels = {c.key: str(c.label) for c in table.columns}
        svg = bar_chart(
            chart.title,
            chart.desc,
            [display(v) for v in table.column(chart.category)],
            [(labels[key], [chart_value(v) for v in table.column(key)]) for key in chart.series],
            suppressed_label=f"< {MIN_GROUP}",
        )
        charts.append({"chart": chart, "svg": svg, "table": table})
    return charts


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/")
@roles_required(Role.MANAGER)
def index():
    filters = Filters.from_args(request.args)
    report = queries.overview(filters)
    _audit("report.view", report, filters, format="html")
    return render_template(
        "reports/index.html",
        report=report,
        filters=filters,
        reports=queries.REPORTS,
        choices=queries.filter_choices(),
        languages=PDF_LANGUAGES,
    )


@bp.get("/<name>")
@roles_required(Role.MANAGER)
def show(name: str):
    filters = Filters.from_args(request.args)
    report = _report(name, filters)
    _audit("report.view", report, filters, format="html")
    return render_template(
        "reports/report.html",
        report=report,
        charts=_charts(report),
        filters=filters,
        reports=queries.REPORTS,
        choices=queries.filter_choices(),
    )


@bp.get("/<name>/<table>.csv")
@roles_required(Role.MANAGER)
def export_csv(name: str, table: str):
    filters = Filters.from_args(request.args)
    report = _report(name, filters)
    found = next((t for t in report.tables if t.key == table), None)
    if found is None:
        abort(404)
    excel = request.args.get("excel") == "1"
    body = table_csv(found, delimiter=";" if excel else ",")
    _audit("report.export", report, filters, format="csv-excel" if excel else "csv", table=table)
    return _download(body, "text/csv; charset=utf-8", f"{name}-{table}.csv")


@bp.get("/<name>.xlsx")
@roles_required(Role.MANAGER)
def export_xlsx(name: str):
    filters = Filters.from_args(request.args)
    report = _report(name, filters)
    body = tables_xlsx(report.tables)
    _audit("report.export", report, filters, format="xlsx")
    return _download(body, XLSX_MIMETYPE, f"{name}.xlsx")


def funder_report(filters: Filters, language: str) -> tuple[queries.Report, bytes]:
    """Return the overview report and the funder PDF for ``filters`` in ``language``."""
    with force_locale(language):
        overview = queries.overview(filters)
        enrolments = queries.enrolments(filters)
        progress = queries.progress(filters)
        certification = queries.certification(filters)
        competencies = queries.competencies(filters)
        start = filters.date_from.isoformat() if filters.date_from else "…"
        end = filters.date_to.isoformat() if filters.date_to else date.today().isoformat()
        month_table = enrolments.table("by_month")
        scheme_table = certification.table("by_scheme")
        gains = competencies.table("gains")
        sections = [
            Section(overview.title, overview.tables, [], []),
            Section(
                _("Participants"),
                [month_table],
                [
                    chart_from(
                        month_table,
                        "month",
                        ("active", "waitlisted", "withdrawn"),
                        _("Enrolments by month"),
                    )
                ],
                enrolments.notes,
            ),
            Section(_("Completions"), [progress.table("funnel")], [], progress.notes[:1]),
            Section(
                _("Certificates by scheme"),
                [scheme_table, certification.table("verifications")],
                [
                    chart_from(
                        scheme_table,
                        "scheme",
                        ("issued", "active", "revoked"),
                        _("Certificates by scheme"),
                    )
                ],
                certification.notes,
            ),
            Section(
                _("Competency gains"),
                [gains],
                [
                    chart_from(
                        gains, "competency", ("assessed", "gained"), _("Gains between the dates")
                    )
                ],
                competencies.notes,
            ),
        ]
        pdf = FunderReport(
            title=_("Skills4Cities: report for funders"),
            subtitle=_("Period: %(start)s to %(end)s", start=start, end=end),
            created=utcnow().date(),
            sections=sections,
            suppression_note=_(
                "Groups of fewer than %(n)d people are shown as “< %(n)d” to protect privacy.",
                n=MIN_GROUP,
            ),
            language=language,
        ).render()
    return overview, pdf


@bp.get("/funder.pdf")
@roles_required(Role.MANAGER)
def funder_pdf():
    filters = Filters.from_args(request.args)
    language = request.args.get("lang", "en")
    if language not in PDF_LANGUAGES:
        abort(404)
    overview, body = funder_report(filters, language)
    _audit("report.export", overview, filters, format="pdf", language=language)
    return _download(body, "application/pdf", f"funder-report-{language}.pdf")


@bp.context_processor
def _helpers():
    return {
        "display": display,
        "min_group": MIN_GROUP,
        "report_titles": {
            "enrolments": _("Enrolments"),
            "progress": _("Progress"),
            "results": _("Results"),
            "competencies": _("Competencies"),
            "certification": _("Certification"),
        },
    }
