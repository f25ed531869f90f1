//! What a reconcile of one case with one peer must know beyond the case itself, read in one statement: a
//! rectification notice for the peer, whether the peer erased the case, the rewrites partners' rectifications still
//! await here, and which documents the peer was sent whole. Each is rare (most cases have none of them), and each
//! used to be its own query on the path of every edit (#14); each stays readable on its own as well.

use super::{CaseId, DocId, Store, StoreError, on_pool};
use crate::store::RectificationNotice;
use crate::store::rectificatie::lines;
use policies::PartnerId;

/// The marks of one case for one peer, as [`Store::case_marks`] reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseMarks {
    /// The rectification notice this node owes the peer for the case ([`Store::rectification_notice`]).
    pub notice: Option<RectificationNotice>,
    /// The peer told this node it erased the case ([`Store::erased_at_peer`]).
    pub erased_at_peer: bool,
    /// The documents partners' rectifications of the case still await here, by partner
    /// ([`Store::awaited_rewrites`]).
    pub awaited: Vec<(String, Vec<String>)>,
    /// The documents of the case the peer was sent whole (a sync state is stored), as
    /// [`Store::has_sync_state`] finds them one at a time.
    pub held_whole: Vec<HeldWhole>,
}

/// A document the peer was sent whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldWhole {
    /// The document's id.
    pub doc_id: DocId,
    /// Its kind's name.
    pub kind: String,
    /// Its instance.
    pub instance: String,
    /// Its generation.
    pub generation: u64,
}

impl CaseMarks {
    /// The id of the document of `kind`/`instance` at `generation` that the peer was sent whole, if it was.
    pub fn held_whole(&self, key: &crate::store::DocKey, generation: u64) -> Option<&DocId> {
        self.held_whole
            .iter()
            .find(|h| {
                h.kind == key.kind.name()
                    && h.instance == key.instance
                    && h.generation == generation
            })
            .map(|h| &h.doc_id)
    }
}

/// One row of the union: which mark, then its columns (unused ones empty). The types are spelled out so that
/// PostgreSQL unifies the branches as SQLite does.
type Row = (String, String, String, String, i64, bool);

const MARKS: &str = "\
    SELECT 'notice' AS mark, origin AS a, docs AS b, '' AS c, serial AS n, confirmed AS f \
      FROM rectification_notices WHERE peer = $1 AND case_id = $2 \
    UNION ALL SELECT 'erased', '', '', '', CAST(0 AS BIGINT), FALSE \
      FROM erased_at_peer WHERE peer = $1 AND case_id = $2 \
    UNION ALL SELECT 'awaiting', peer, awaiting, '', CAST(0 AS BIGINT), FALSE \
      FROM rectifications_taken WHERE case_id = $2 AND awaiting <> '' \
    UNION ALL SELECT 'held', d.doc_id, d.kind, d.instance, d.generation, FALSE \
      FROM sync_state s JOIN documents d ON s.doc_id = d.doc_id WHERE s.peer = $1 AND d.case_id = $2";

impl Store {
    /// The marks of `case` for `peer` ([`CaseMarks`]), in one statement.
    pub async fn case_marks(
        &self,
        peer: &PartnerId,
        case: &CaseId,
    ) -> Result<CaseMarks, StoreError> {
        let peer = peer.to_string();
        let rows: Vec<Row> = on_pool!(self, p => {
            sqlx::query_as(MARKS)
                .bind(peer.as_str())
                .bind(case.as_str())
                .fetch_all(p)
                .await?
        });
        let mut marks = CaseMarks::default();
        for (mark, a, b, c, n, f) in rows {
            match mark.as_str() {
                "notice" => {
                    marks.notice = Some(RectificationNotice {
                        peer: peer.clone(),
                        case: case.clone(),
                        origin: a,
                        serial: n,
                        docs: lines(&b),
                        confirmed: f,
                    })
                }
                "erased" => marks.erased_at_peer = true,
                "awaiting" => marks.awaited.push((a, lines(&b))),
                "held" => marks.held_whole.push(HeldWhole {
                    doc_id: a.parse().map_err(|_| StoreError::Corrupt {
                        what: "document id",
                    })?,
                    kind: b,
                    instance: c,
                    generation: n as u64,
                }),
                _ => unreachable!("the statement names four marks"),
            }
        }
        Ok(marks)
    }
}
