"""Forms for frameworks, scales, competencies, mappings and evidence."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from courses.competencies import framework_csv
from courses.competencies.models import (
    CODE_MAX,
    NAME_MAX,
    NOTE_MAX,
    SOURCE_MAX,
    TITLE_MAX,
)
from courses.competencies.operations import CODE_PATTERN, split_list
from courses.competencies.rules import MAX_NOTE_LENGTH
from lms.forms import strip

MAX_LEVELS = 10
_CODE_MESSAGE = _l("Use only letters, digits, dots, hyphens and underscores.")


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(label, limit, required=False, **kwargs):
    validators = [DataRequired()] if required else [Optional()]
    return StringField(label, [*validators, Length(max=limit)], filters=[strip], **kwargs)


def _area(label, limit=framework_csv.MAX_DESCRIPTION_LENGTH, **kwargs):
    return TextAreaField(
        label,
        [Optional(), Length(max=limit)],
        filters=[strip],
        render_kw={"rows": 3},
        **kwargs,
    )


class FrameworkForm(FlaskForm):
    code = StringField(
        _l("Code"),
        [DataRequired(), Length(max=CODE_MAX), Regexp(CODE_PATTERN, message=_CODE_MESSAGE)],
        filters=[strip],
        description=_l("A short unique code, for example S4C-SC."),
    )
    name_en = _text(_l("Name (English)"), NAME_MAX, required=True)
    name_bg = _text(_l("Name (Bulgarian)"), NAME_MAX)
    description_en = _area(_l("Description (English)"))
    description_bg = _area(_l("Description (Bulgarian)"))
    source = _text(
        _l("Source"),
        SOURCE_MAX,
        description=_l("Where the framework comes from: a standard, a project, a web address."),
    )
    submit = SubmitField(_l("Save"))


class LevelRowForm(FlaskForm):
    """One row of the scale editor (a sub-form: no CSRF token of its own)."""

    class Meta:
        csrf = False

    level_id = HiddenField(filters=[_int_or_none])
    name_en = _text(_l("Name (English)"), NAME_MAX)
    name_bg = _text(_l("Name (Bulgarian)"), NAME_MAX)


class ScaleForm(FlaskForm):
    levels = FieldList(FormField(LevelRowForm), min_entries=0, max_entries=MAX_LEVELS)
    proficient = RadioField(
        _l("Proficient level"),
        coerce=_int_or_none,
        validators=[DataRequired(message=_l("Mark one of the levels as proficient."))],
        validate_choice=False,
    )
    submit = SubmitField(_l("Save scale"))

    def validate_proficient(self, field):
        if field.data is None or not 0 <= field.data < len(self.levels.entries):
            raise ValidationError(_l("Mark one of the levels as proficient."))
        if not (self.levels.entries[field.data].form.name_en.data or "").strip():
            raise ValidationError(_l("The proficient level needs a name."))


class CompetencyForm(FlaskForm):
    code = StringField(
        _l("Code"),
        [DataRequired(), Length(max=CODE_MAX), Regexp(CODE_PATTERN, message=_CODE_MESSAGE)],
        filters=[strip],
    )
    title_en = _text(_l("Title (English)"), TITLE_MAX, required=True)
    title_bg = _text(_l("Title (Bulgarian)"), TITLE_MAX)
    description_en = _area(_l("Description (English)"))
    description_bg = _area(_l("Description (Bulgarian)"))
    parent = SelectField(_l("Part of"), coerce=_int_or_none, validate_choice=False)
    esco_text = TextAreaField(
        _l("ESCO skills"),
        [Optional(), Length(max=4000)],
        render_kw={"rows": 2},
        description=_l("ESCO skill URIs, one per line: http://data.europa.eu/esco/skill/<uuid>"),
    )
    ecf_text = StringField(
        _l("e-CF competences"),
        [Optional(), Length(max=200)],
        description=_l("e-CF 4.0 codes separated by spaces, for example E.2 A.6."),
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.parent.choices = [(None, _l("— (top level)"))] + [
            (c.id, "\u2003" * depth + f"{c.code} {c.tr('title')}") for c, depth in candidates
        ]
        self.candidate_ids = {c.id for c, _depth in candidates}

    def validate_parent(self, field):
        if field.data is not None and field.data not in self.candidate_ids:
            raise ValidationError(_l("Choose a competency of this framework as the parent."))

    def validate_esco_text(self, field):
        for value in split_list(field.data):
            if framework_csv.normalise_esco_uri(value) is None:
                raise ValidationError(
                    _l(
                        "“%(value)s” is not an ESCO skill URI (%(prefix)s<uuid>).",
                        value=value[:80],
                        prefix=framework_csv.ESCO_SKILL_PREFIX,
                    )
                )

    def validate_ecf_text(self, field):
        for value in split_list(field.data):
            if framework_csv.normalise_ecf_code(value) is None:
                raise ValidationError(
                    _l(
                        "“%(value)s” is not an e-CF 4.0 competence code (A.1 to E.9).",
                        value=value[:20],
                    )
                )


class ImportForm(FlaskForm):
    file = FileField(
        _l("Framework CSV file"),
        [FileRequired(message=_l("Choose a CSV file."))],
        description=_l(
            "UTF-8, comma or semicolon separated, with a header row: code, title_en, title_bg,"
            " description_en, description_bg, parent_code, esco_uri, ecf_code."
        ),
    )
    submit = SubmitField(_l("Check the file"))


class ImportConfirmForm(FlaskForm):
    content = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Import"))


def _level_choices(levels):
    return [(level.id, f"{level.framework.code}: {level.label()}") for level in levels]


def _competency_choices(competencies):
    return [(c.id, f"{c.framework.code} · {c.code} {c.tr('title')}") for c in competencies]


class _CompetencyLevelForm(FlaskForm):
    competency = SelectField(_l("Competency"), coerce=_int_or_none, validate_choice=False)
    level = SelectField(_l("Level"), coerce=_int_or_none, validate_choice=False)

    def __init__(self, *args, competencies=(), levels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.competency.choices = _competency_choices(competencies)
        self.level.choices = _level_choices(levels)
        self.competencies = {c.id: c for c in competencies}
        self.levels = {level.id: level for level in levels}

    def validate_competency(self, field):
        if field.data not in self.competencies:
            raise ValidationError(_l("Choose a competency."))

    def validate_level(self, field):
        level = self.levels.get(field.data)
        if level is None:
            raise ValidationError(_l("Choose a level of the framework's scale."))
        competency = self.competencies.get(self.competency.data)
        if competency is not None and level.framework_id != competency.framework_id:
            raise ValidationError(
                _l(
                    "This level is not in the scale of the framework %(framework)s.",
                    framework=competency.framework.code,
                )
            )

    @property
    def chosen_competency(self):
        return self.competencies[self.competency.data]

    @property
    def chosen_level(self):
        return self.levels[self.level.data]


class MappingForm(_CompetencyLevelForm):
    target = SelectField(_l("Assessment or learning outcome"), validate_choice=False)
    submit = SubmitField(_l("Add mapping"))

    def __init__(self, *args, assessments=(), outcomes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.target.choices = [(f"a{a.id}", a.tr("title")) for a in assessments] + [
            (f"o{o.id}", _l("Outcome %(n)s: %(text)s", n=o.position, text=o.tr("text")[:80]))
            for o in outcomes
        ]
        self.assessments = {a.id: a for a in assessments}
        self.outcomes = {o.id: o for o in outcomes}

    def validate_target(self, field):
        if self.chosen_target is None:
            raise ValidationError(_l("Choose an assessment or a learning outcome of this course."))

    @property
    def chosen_target(self):
        value = self.target.data or ""
        number = _int_or_none(value[1:])
        if value.startswith("a"):
            return self.assessments.get(number)
        if value.startswith("o"):
            return self.outcomes.get(number)
        return None


class EvidenceForm(_CompetencyLevelForm):
    trainee = SelectField(_l("Trainee"), coerce=_int_or_none, validate_choice=False)
    note = TextAreaField(
        _l("Note"),
        [
            DataRequired(message=_l("Explain the evidence in a note.")),
            Length(max=MAX_NOTE_LENGTH),
        ],
        filters=[strip],
        render_kw={"rows": 3, "maxlength": NOTE_MAX},
        description=_l("What the trainee did that shows this level; the trainee sees it."),
    )
    submit = SubmitField(_l("Record evidence"))

    def __init__(self, *args, trainees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.trainee.choices = [(u.id, u.display_name) for u in trainees]
        self.trainees = {u.id: u for u in trainees}

    def validate_trainee(self, field):
        if field.data not in self.trainees:
            raise ValidationError(
                _l(
                    "This person is not enrolled in the course; evidence is recorded"
                    " for its trainees only."
                )
            )


class WithdrawForm(FlaskForm):
    note = TextAreaField(
        _l("Reason"),
        [
            DataRequired(message=_l("Explain the evidence in a note.")),
            Length(max=MAX_NOTE_LENGTH),
        ],
        filters=[strip],
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Withdraw"))
