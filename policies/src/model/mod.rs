//! The covenant's data model: the documents of a case and their typed fields.
//!
//! A case (traject) is made of documents, one per form or process step. Each field has a global [`FieldId`], so
//! the policy evaluator can work on bit sets ([`FieldSet`]) instead of strings.

mod schema;
mod types;

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

pub use schema::*;
pub use types::{Categories, Category, Cond, FieldSpec, FieldType, Required};

/// The kinds of document a case is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocumentKind {
    /// Registratie at intake (zorgaanbieder).
    Registratie,
    /// Aanmelding within two weeks (zorgaanbieder).
    Aanmelding,
    /// Vervolg wonen (zorgaanbieder).
    VervolgWonen,
    /// Plaatsing, the afmelding (zorgaanbieder).
    Plaatsing,
    /// The request for bemiddeling (zorgaanbieder; the Transferpunt marks what is missing).
    Bemiddelingsverzoek,
    /// The Transferpunt's assessment, chosen gemeente and corporatie.
    Beoordeling,
    /// The message to a corporatie (Transferpunt).
    Aanmeldbericht,
    /// A corporatie's answer, offers and lease.
    Reactie,
    /// A gemeente's akkoord, beschikking and gebiedsteam contact.
    Gemeente,
    /// The gebiedsteam's support plan (Afspraak 4b).
    Ondersteuningsplan,
    /// A signal or bottleneck (Afspraak 7).
    Melding,
    /// The Transferpunt's handling of a melding presented to it (Afspraak 7d–g).
    Voorlegging,
    /// One event of the lease after placement: omklap evaluation, huisuitzetting (Afspraak 2).
    Huurverloop,
    /// One event of the support after placement: meeloop, op- and afschalen, waakvlam (Afspraak 4e, 5, 6).
    Ondersteuningsverloop,
}

/// The schema of one kind of document.
#[derive(Debug)]
pub struct DocumentSpec {
    /// Which document.
    pub kind: DocumentKind,
    /// Its name in policies and the API (`vervolg_wonen`).
    pub name: &'static str,
    /// Its Dutch name with article, for sentences ("het registratieformulier").
    pub label: &'static str,
    /// Where the covenant or evaluation describes it.
    pub source: &'static str,
    /// Whether a case can hold several (one per corporatie, gemeente or melding).
    pub multiple: bool,
    /// Its fields, in form order.
    pub fields: &'static [FieldSpec],
}

static DOCUMENTS: [DocumentSpec; 14] = [
    DocumentSpec {
        kind: DocumentKind::Registratie,
        name: "registratie",
        label: "het registratieformulier",
        source: "Bijlage 3, registratiefase",
        multiple: false,
        fields: REGISTRATIE,
    },
    DocumentSpec {
        kind: DocumentKind::Aanmelding,
        name: "aanmelding",
        label: "het aanmeldformulier",
        source: "Bijlage 3, aanmeldfase; Bijlage 1, 1d",
        multiple: false,
        fields: AANMELDING,
    },
    DocumentSpec {
        kind: DocumentKind::VervolgWonen,
        name: "vervolg_wonen",
        label: "het formulier vervolg wonen",
        source: "Bijlage 3, fase vervolg wonen",
        multiple: false,
        fields: VERVOLG_WONEN,
    },
    DocumentSpec {
        kind: DocumentKind::Plaatsing,
        name: "plaatsing",
        label: "het plaatsingsformulier",
        source: "Bijlage 3, fase van plaatsing; Afspraak 1l",
        multiple: false,
        fields: PLAATSING,
    },
    DocumentSpec {
        kind: DocumentKind::Bemiddelingsverzoek,
        name: "bemiddelingsverzoek",
        label: "het bemiddelingsverzoek",
        source: "Evaluatie 2025, §3.1",
        multiple: false,
        fields: BEMIDDELINGSVERZOEK,
    },
    DocumentSpec {
        kind: DocumentKind::Beoordeling,
        name: "beoordeling",
        label: "de beoordeling door het Transferpunt",
        source: "Evaluatie 2025, §3.1 en §4.1; Afspraak 3",
        multiple: false,
        fields: BEOORDELING,
    },
    DocumentSpec {
        kind: DocumentKind::Aanmeldbericht,
        name: "aanmeldbericht",
        label: "het aanmeldbericht",
        source: "Bijlage 3, fase vervolg wonen",
        multiple: true,
        fields: AANMELDBERICHT,
    },
    DocumentSpec {
        kind: DocumentKind::Reactie,
        name: "reactie",
        label: "de reactie van de woningcorporatie",
        source: "Afspraak 1g-1k, 2; evaluatie 2025, §4.1",
        multiple: true,
        fields: REACTIE,
    },
    DocumentSpec {
        kind: DocumentKind::Gemeente,
        name: "gemeente",
        label: "het gemeenteformulier",
        source: "Afspraak 3b, 4; Bijlage 1, 1d",
        multiple: true,
        fields: GEMEENTE,
    },
    DocumentSpec {
        kind: DocumentKind::Ondersteuningsplan,
        name: "ondersteuningsplan",
        label: "het ondersteuningsplan",
        source: "Afspraak 4b; Bijlage 1, 4b",
        multiple: false,
        fields: ONDERSTEUNINGSPLAN,
    },
    DocumentSpec {
        kind: DocumentKind::Melding,
        name: "melding",
        label: "de melding",
        source: "Afspraak 7; Bijlage 2",
        multiple: true,
        fields: MELDING,
    },
    DocumentSpec {
        kind: DocumentKind::Voorlegging,
        name: "voorlegging",
        label: "de voorlegging aan het Transferpunt",
        source: "Afspraak 7d-7g; Bijlage 1, 7d-7g",
        multiple: true,
        fields: VOORLEGGING,
    },
    DocumentSpec {
        kind: DocumentKind::Huurverloop,
        name: "huurverloop",
        label: "het huurverloop na plaatsing",
        source: "Afspraak 2d-2h",
        multiple: true,
        fields: HUURVERLOOP,
    },
    DocumentSpec {
        kind: DocumentKind::Ondersteuningsverloop,
        name: "ondersteuningsverloop",
        label: "het ondersteuningsverloop na plaatsing",
        source: "Afspraak 4e, 5 en 6",
        multiple: true,
        fields: ONDERSTEUNINGSVERLOOP,
    },
];

impl DocumentKind {
    /// Every kind, in process order.
    pub const ALL: [DocumentKind; 14] = [
        DocumentKind::Registratie,
        DocumentKind::Aanmelding,
        DocumentKind::VervolgWonen,
        DocumentKind::Plaatsing,
        DocumentKind::Bemiddelingsverzoek,
        DocumentKind::Beoordeling,
        DocumentKind::Aanmeldbericht,
        DocumentKind::Reactie,
        DocumentKind::Gemeente,
        DocumentKind::Ondersteuningsplan,
        DocumentKind::Melding,
        DocumentKind::Voorlegging,
        DocumentKind::Huurverloop,
        DocumentKind::Ondersteuningsverloop,
    ];

    /// Its schema.
    pub fn spec(self) -> &'static DocumentSpec {
        &DOCUMENTS[self as usize]
    }

    /// Its name (`vervolg_wonen`).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Look a kind up by name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A field of this document by name.
    pub fn field(self, name: &str) -> Option<FieldId> {
        FieldId::lookup(self.name(), name)
    }

    /// All fields of this document.
    pub fn fields(self) -> impl Iterator<Item = FieldId> {
        let start = FIELD_OFFSETS[self as usize];
        let len = self.spec().fields.len();
        (start..start + len).map(|i| FieldId(i as u16))
    }
}

impl serde::Serialize for DocumentKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The total number of top-level fields in the model.
pub const FIELD_COUNT: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < DOCUMENT_FIELD_COUNTS.len() {
        n += DOCUMENT_FIELD_COUNTS[i];
        i += 1;
    }
    n
};

const DOCUMENT_FIELD_COUNTS: [usize; 14] = [
    REGISTRATIE.len(),
    AANMELDING.len(),
    VERVOLG_WONEN.len(),
    PLAATSING.len(),
    BEMIDDELINGSVERZOEK.len(),
    BEOORDELING.len(),
    AANMELDBERICHT.len(),
    REACTIE.len(),
    GEMEENTE.len(),
    ONDERSTEUNINGSPLAN.len(),
    MELDING.len(),
    VOORLEGGING.len(),
    HUURVERLOOP.len(),
    ONDERSTEUNINGSVERLOOP.len(),
];

const FIELD_OFFSETS: [usize; 14] = {
    let mut offsets = [0; 14];
    let mut i = 1;
    while i < 14 {
        offsets[i] = offsets[i - 1] + DOCUMENT_FIELD_COUNTS[i - 1];
        i += 1;
    }
    offsets
};

const _: () = assert!(
    FIELD_COUNT <= FieldSet::CAPACITY,
    "FieldSet is too small for the model"
);

/// A top-level field of the model, by global index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(u16);

static BY_NAME: LazyLock<HashMap<String, FieldId>> =
    LazyLock::new(|| FieldId::all().map(|f| (f.qualified_name(), f)).collect());

impl FieldId {
    /// Every field of the model, documents in process order.
    pub fn all() -> impl Iterator<Item = FieldId> {
        (0..FIELD_COUNT as u16).map(FieldId)
    }

    /// The global index (`0..FIELD_COUNT`).
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The field with global index `i`, if there is one.
    pub fn from_index(i: usize) -> Option<FieldId> {
        (i < FIELD_COUNT).then_some(FieldId(i as u16))
    }

    /// The document the field belongs to.
    pub fn document(self) -> DocumentKind {
        let i = self.index();
        let pos = FIELD_OFFSETS.partition_point(|&o| o <= i) - 1;
        DocumentKind::ALL[pos]
    }

    /// The field's schema.
    pub fn spec(self) -> &'static FieldSpec {
        let doc = self.document();
        &doc.spec().fields[self.index() - FIELD_OFFSETS[doc as usize]]
    }

    /// The field's own name (`bsn`).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// `document.field` (`registratie.bsn`).
    pub fn qualified_name(self) -> String {
        format!("{}.{}", self.document().name(), self.name())
    }

    /// Look a field up by document and field name.
    pub fn lookup(document: &str, field: &str) -> Option<FieldId> {
        Self::parse(&format!("{document}.{field}"))
    }

    /// Look a field up by `document.field`.
    pub fn parse(qualified: &str) -> Option<FieldId> {
        BY_NAME.get(qualified).copied()
    }
}

impl fmt::Display for FieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.document().name(), self.name())
    }
}

/// A set of fields, as a fixed-size bit set: the unit the policy evaluator works in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FieldSet([u64; 4]);

impl FieldSet {
    /// How many fields a set can hold.
    pub const CAPACITY: usize = 256;

    /// The empty set.
    pub const EMPTY: FieldSet = FieldSet([0; 4]);

    /// Every field of the model.
    pub fn all() -> FieldSet {
        FieldId::all().collect()
    }

    /// Every field of one document.
    pub fn document(kind: DocumentKind) -> FieldSet {
        kind.fields().collect()
    }

    /// Every field in a category.
    pub fn category(c: Category) -> FieldSet {
        FieldId::all().filter(|f| f.spec().is(c)).collect()
    }

    /// Add a field.
    pub fn insert(&mut self, f: FieldId) {
        self.0[f.index() / 64] |= 1 << (f.index() % 64);
    }

    /// Remove a field.
    pub fn remove(&mut self, f: FieldId) {
        self.0[f.index() / 64] &= !(1 << (f.index() % 64));
    }

    /// Whether the set holds `f`.
    pub fn contains(&self, f: FieldId) -> bool {
        self.0[f.index() / 64] & (1 << (f.index() % 64)) != 0
    }

    /// Union.
    pub fn union(self, other: FieldSet) -> FieldSet {
        FieldSet(std::array::from_fn(|i| self.0[i] | other.0[i]))
    }

    /// Intersection.
    pub fn intersection(self, other: FieldSet) -> FieldSet {
        FieldSet(std::array::from_fn(|i| self.0[i] & other.0[i]))
    }

    /// The fields in `self` but not in `other`.
    pub fn difference(self, other: FieldSet) -> FieldSet {
        FieldSet(std::array::from_fn(|i| self.0[i] & !other.0[i]))
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The fields, in model order.
    pub fn iter(&self) -> impl Iterator<Item = FieldId> + '_ {
        FieldId::all().filter(|f| self.contains(*f))
    }

    /// Whether every field of `kind` is in the set.
    pub fn covers_document(&self, kind: DocumentKind) -> bool {
        kind.fields().all(|f| self.contains(f))
    }
}

impl FromIterator<FieldId> for FieldSet {
    fn from_iter<I: IntoIterator<Item = FieldId>>(iter: I) -> Self {
        let mut s = FieldSet::EMPTY;
        for f in iter {
            s.insert(f);
        }
        s
    }
}

impl fmt::Debug for FieldSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(|x| x.qualified_name()))
            .finish()
    }
}

/// "This date may not lie before that one": the date rules of a case, within a form and across forms.
#[derive(Debug, Clone, Copy)]
pub struct DateOrder {
    /// The earlier date.
    pub earlier: (DocumentKind, &'static str),
    /// The later date.
    pub later: (DocumentKind, &'static str),
    /// Whether the two may be equal.
    pub may_be_equal: bool,
}

const fn order(
    earlier: (DocumentKind, &'static str),
    later: (DocumentKind, &'static str),
    may_be_equal: bool,
) -> DateOrder {
    DateOrder {
        earlier,
        later,
        may_be_equal,
    }
}

use DocumentKind as D;

/// Every date rule of the model. Rules across documents are checked when both documents are known.
pub const DATE_ORDERS: &[DateOrder] = &[
    order(
        (D::Registratie, "geboortedatum"),
        (D::Registratie, "eerste_aanmelding_opvang"),
        false,
    ),
    order(
        (D::Registratie, "geboortedatum"),
        (D::Registratie, "start_verblijf_opvang"),
        false,
    ),
    order(
        (D::Registratie, "geboortedatum"),
        (D::Registratie, "datum_start_dakloosheid"),
        true,
    ),
    order(
        (D::Registratie, "eerste_aanmelding_opvang"),
        (D::Registratie, "start_verblijf_opvang"),
        true,
    ),
    order(
        (D::Registratie, "start_verblijf_opvang"),
        (D::Registratie, "datum_aanmelding_transferpunt"),
        true,
    ),
    order(
        (D::Registratie, "start_verblijf_opvang"),
        (D::Aanmelding, "datum_aanmelding"),
        true,
    ),
    order(
        (D::Registratie, "start_verblijf_opvang"),
        (D::Bemiddelingsverzoek, "datum_verzoek"),
        true,
    ),
    order(
        (D::Registratie, "start_verblijf_opvang"),
        (D::Plaatsing, "datum_mutatie"),
        true,
    ),
    order(
        (D::Bemiddelingsverzoek, "datum_verzoek"),
        (D::Beoordeling, "datum_ontvangen"),
        true,
    ),
    order(
        (D::Bemiddelingsverzoek, "datum_verzoek"),
        (D::Bemiddelingsverzoek, "datum_ingediend"),
        true,
    ),
    order(
        (D::Beoordeling, "datum_ontvangen"),
        (D::Beoordeling, "datum_teruggestuurd"),
        true,
    ),
    order(
        (D::Beoordeling, "datum_ontvangen"),
        (D::Beoordeling, "datum_volledig"),
        true,
    ),
    order(
        (D::Beoordeling, "datum_ontvangen"),
        (D::Beoordeling, "datum_afgesloten"),
        true,
    ),
    order(
        (D::Beoordeling, "datum_ontvangen"),
        (D::Aanmeldbericht, "datum_verzonden"),
        true,
    ),
    order(
        (D::Beoordeling, "datum_ontvangen"),
        (D::Reactie, "datum_besluit"),
        true,
    ),
    order(
        (D::Reactie, "datum_ondertekening"),
        (D::Reactie, "einddatum_drie_partijen"),
        false,
    ),
    order(
        (D::Gemeente, "beschikking_startdatum"),
        (D::Gemeente, "beschikking_einddatum"),
        false,
    ),
    order(
        (D::Melding, "datum_melding"),
        (D::Melding, "datum_afgehandeld"),
        true,
    ),
    order(
        (D::Melding, "datum_melding"),
        (D::Melding, "datum_voorgelegd"),
        true,
    ),
    order(
        (D::Melding, "datum_melding"),
        (D::Melding, "datum_gemeld_toezichthouder"),
        true,
    ),
    order(
        (D::Voorlegging, "datum_ontvangen"),
        (D::Voorlegging, "datum_overleg"),
        true,
    ),
    order(
        (D::Voorlegging, "datum_ontvangen"),
        (D::Voorlegging, "datum_afgehandeld"),
        true,
    ),
    order(
        (D::Voorlegging, "datum_afgehandeld"),
        (D::Voorlegging, "datum_terugkoppeling"),
        true,
    ),
    // Life after placement: an event after placement is not before the move.
    order(
        (D::Plaatsing, "datum_mutatie"),
        (D::Huurverloop, "datum"),
        true,
    ),
    order(
        (D::Plaatsing, "datum_mutatie"),
        (D::Ondersteuningsverloop, "datum"),
        true,
    ),
    order(
        (D::Reactie, "datum_ondertekening"),
        (D::Huurverloop, "datum"),
        true,
    ),
    order(
        (D::Huurverloop, "datum_overleg"),
        (D::Huurverloop, "datum"),
        true,
    ),
    order(
        (D::Ondersteuningsverloop, "datum"),
        (D::Ondersteuningsverloop, "einddatum_meeloop"),
        true,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_round_trips_through_its_qualified_name() {
        for f in FieldId::all() {
            assert_eq!(FieldId::parse(&f.qualified_name()), Some(f));
        }
    }

    #[test]
    fn field_names_are_unique_within_a_document() {
        for kind in DocumentKind::ALL {
            let mut names: Vec<_> = kind.spec().fields.iter().map(|f| f.name).collect();
            names.sort();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "duplicate field in {kind}");
        }
    }

    #[test]
    fn date_orders_and_conditions_name_real_fields() {
        for o in DATE_ORDERS {
            for (doc, name) in [o.earlier, o.later] {
                let f = doc.field(name).unwrap_or_else(|| panic!("{doc}.{name}"));
                assert!(
                    matches!(f.spec().ty, FieldType::Date { .. }),
                    "{f} is not a date"
                );
            }
        }
        for f in FieldId::all() {
            if let Required::AlwaysWhen(c) | Required::ForSubmissionWhen(c) = f.spec().required {
                assert!(
                    f.document().field(c.field).is_some(),
                    "{f} depends on unknown {}",
                    c.field
                );
            }
        }
    }

    #[test]
    fn ondersteuningsplan_has_the_fourteen_topics_of_afspraak_4b() {
        let topics = DocumentKind::Ondersteuningsplan
            .spec()
            .fields
            .iter()
            .filter(|f| {
                f.label
                    .split('.')
                    .next()
                    .is_some_and(|n| n.parse::<u8>().is_ok())
            })
            .count();
        assert_eq!(topics, 14);
    }

    #[test]
    fn field_set_operations() {
        let bsn = FieldId::parse("registratie.bsn").unwrap();
        let mut s = FieldSet::EMPTY;
        s.insert(bsn);
        assert!(s.contains(bsn) && s.len() == 1);
        assert!(FieldSet::category(Category::Bsn).contains(bsn));
        s.remove(bsn);
        assert!(s.is_empty());
        assert!(FieldSet::document(DocumentKind::Melding).covers_document(DocumentKind::Melding));
    }
}
