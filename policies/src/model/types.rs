//! The building blocks of the schema: field types, requiredness and categories.

/// How a field's value is typed. Every value arriving from a form is checked against this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A short line of text (a name, an address).
    Text,
    /// Free text of several sentences (a reason, a plan topic).
    LongText,
    /// A calendar date, `YYYY-MM-DD`. `not_future` dates describe something that already happened.
    Date {
        /// The date may not lie after "today".
        not_future: bool,
    },
    /// `true` or `false`.
    Bool,
    /// A whole number within bounds (inclusive).
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A burgerservicenummer: nine digits passing the elfproef.
    Bsn,
    /// A CBS gemeentecode (`GM0080`) of a gemeente known to the federation.
    Gemeente,
    /// An e-mail address.
    Email,
    /// A Dutch or international telephone number.
    Telefoon,
    /// One of a fixed list of values (the covenant's own words, in snake case).
    Enum(&'static [&'static str]),
    /// A federation partner id, `<role>:<code>` (`corporatie:elkien`).
    Partner,
    /// A list of field references (`registratie.bsn`): which fields are still missing.
    FieldList,
    /// A list of records, each with its own typed fields (registrations at corporaties, offers).
    Records(&'static [FieldSpec]),
}

impl FieldType {
    /// The type in words a begeleider understands (Dutch), for error messages and tables.
    pub fn describe_nl(&self) -> String {
        match self {
            FieldType::Text => "tekst".into(),
            FieldType::LongText => "tekst (meerdere zinnen)".into(),
            FieldType::Date { .. } => "datum (JJJJ-MM-DD)".into(),
            FieldType::Bool => "ja/nee (true of false)".into(),
            FieldType::Integer { min, max } => format!("geheel getal van {min} tot en met {max}"),
            FieldType::Bsn => "burgerservicenummer (9 cijfers)".into(),
            FieldType::Gemeente => "CBS-gemeentecode (zoals GM0080)".into(),
            FieldType::Email => "e-mailadres".into(),
            FieldType::Telefoon => "telefoonnummer".into(),
            FieldType::Enum(values) => format!("één van: {}", values.join(", ")),
            FieldType::Partner => "partner-id (rol:code, zoals corporatie:elkien)".into(),
            FieldType::FieldList => "lijst van velden (formulier.veld)".into(),
            FieldType::Records(_) => "lijst van regels".into(),
        }
    }
}

/// A condition on a sibling field's value, used for conditional requiredness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cond {
    /// The sibling field.
    pub field: &'static str,
    /// The condition holds when the sibling's value is one of these (`"true"` for a true bool).
    pub any_of: &'static [&'static str],
}

/// When a field must be filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    /// Never required.
    Optional,
    /// A form without it is not accepted at all (the identity minimum, the decision itself).
    Always,
    /// A form without it is accepted as concept, but cannot be submitted (completeness).
    ForSubmission,
    /// Required, and not accepted without it, once the condition holds (a refusal needs a reason).
    AlwaysWhen(Cond),
    /// Required for submission once the condition holds.
    ForSubmissionWhen(Cond),
}

/// Categories of fields, used by policy selectors (`@financieel`) and by the what-if grading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// The burgerservicenummer.
    Bsn,
    /// Identifying details: name, date of birth, address, phone, e-mail.
    Identificerend,
    /// Special or sensitive personal data: health, homelessness, behaviour, the support plan.
    Bijzonder,
    /// Income, benefits and debts.
    Financieel,
}

impl Category {
    /// All categories.
    pub const ALL: [Category; 4] = [
        Category::Bsn,
        Category::Identificerend,
        Category::Bijzonder,
        Category::Financieel,
    ];

    /// The selector name used in policies (`@bsn`).
    pub fn name(self) -> &'static str {
        match self {
            Category::Bsn => "bsn",
            Category::Identificerend => "identificerend",
            Category::Bijzonder => "bijzonder",
            Category::Financieel => "financieel",
        }
    }

    /// Parse a selector name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A small set of [`Category`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Categories(u8);

impl Categories {
    /// No category.
    pub const NONE: Categories = Categories(0);

    /// This set plus `c`.
    pub const fn with(self, c: Category) -> Self {
        Categories(self.0 | c.bit())
    }

    /// Whether `c` is in the set.
    pub fn contains(self, c: Category) -> bool {
        self.0 & c.bit() != 0
    }

    /// The categories in the set.
    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

/// One field of a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field's name in the covenant's words, snake case (`reden_dakloosheid`).
    pub name: &'static str,
    /// How the field is called on the form (Dutch).
    pub label: &'static str,
    /// Its type.
    pub ty: FieldType,
    /// When it must be filled in.
    pub required: Required,
    /// Its categories.
    pub categories: Categories,
}

impl FieldSpec {
    /// Whether the field is in category `c`.
    pub fn is(&self, c: Category) -> bool {
        self.categories.contains(c)
    }
}
