//! Documents: incremental changes, compaction into snapshots, loading, and sync state.

use automerge::{AutoCommit, ChangeHash};
use policies::{DocumentKind, PartnerId};
use time::OffsetDateTime;

use super::backend::Transactions;
use super::log::{append_in_tx, audit_failed};
use super::rectificatie::RectificationNotice;
use super::{CaseId, CompactError, DocId, Store, StoreError, WriteError, on_pool};
use crate::audit::AuditEntry;
use crate::doc::{self, DocError};

/// Which document of which case: the kind, and for kinds a case can hold several of (one per corporatie,
/// gemeente or melding) an instance name; `""` for the others.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocKey {
    /// The case.
    pub case: CaseId,
    /// The kind of document.
    pub kind: DocumentKind,
    /// Which one of several (`corporatie:elkien`), or `""`.
    pub instance: String,
}

impl DocKey {
    /// The only document of this kind in the case.
    pub fn single(case: CaseId, kind: DocumentKind) -> Self {
        DocKey {
            case,
            kind,
            instance: String::new(),
        }
    }

    /// One of several documents of this kind in the case.
    pub fn instance(case: CaseId, kind: DocumentKind, instance: impl Into<String>) -> Self {
        DocKey {
            case,
            kind,
            instance: instance.into(),
        }
    }
}

/// One write to a document: the Automerge changes made since the last save, and the heads after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Automerge change chunks ([`Change::since`]).
    pub bytes: Vec<u8>,
    /// The document's heads after the change.
    pub heads: Vec<ChangeHash>,
}

impl Change {
    /// The changes made to a new `doc` ([`doc::new_document`]) since it was created or last taken; `None` when
    /// there are none. Commits pending operations first. For a document loaded from the store use
    /// [`Change::since`] with the heads it was loaded at: after a load the save cursor is empty, so this would
    /// return the whole document.
    pub fn take(doc: &mut AutoCommit) -> Option<Change> {
        let bytes = doc.save_incremental();
        (!bytes.is_empty()).then(|| Change {
            bytes,
            heads: doc.get_heads(),
        })
    }

    /// The changes in `doc` that are not (transitive) dependencies of `base`: for a document loaded from the
    /// store, `base` is its heads right after loading (`get_heads()`); for a new document, `&[]`. Commits pending
    /// operations first. `None` when there is nothing new.
    ///
    /// Not `AutoCommit::save_incremental`: after `load`/`load_incremental` its cursor is empty, so it would return
    /// the whole document again. Synchronous and CPU-bound: use `spawn_blocking` for large documents.
    pub fn since(doc: &mut AutoCommit, base: &[ChangeHash]) -> Option<Change> {
        let bytes = doc.save_after(base);
        (!bytes.is_empty()).then(|| Change {
            bytes,
            heads: doc.get_heads(),
        })
    }
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReceipt {
    /// The document written (created by the first write).
    pub doc_id: DocId,
    /// The change's sequence number within the document.
    pub seq: u64,
    /// The audit entry's seq, for an audited write.
    pub audit_seq: Option<u64>,
    /// Whether the write was followed by a compaction.
    pub compacted: bool,
}

/// A document's metadata, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentMeta {
    /// Its id.
    pub doc_id: DocId,
    /// Its case, kind and instance.
    pub key: DocKey,
    /// The heads as last written.
    pub heads: Vec<ChangeHash>,
    /// Incremental changes stored after the snapshot.
    pub pending: u64,
    /// When it was last written.
    pub updated_at: OffsetDateTime,
    /// Its generation: a rectification rewrites it without history as the next one (part of its wire name).
    pub generation: u64,
}

/// A document as stored: snapshot plus incremental changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    /// Its metadata.
    pub meta: DocumentMeta,
    /// `AutoCommit::save` output, or empty.
    pub snapshot: Vec<u8>,
    /// Incremental changes saved after the snapshot, in order.
    pub changes: Vec<Vec<u8>>,
}

impl StoredDocument {
    /// Rebuild the Automerge document, to be written further by `partner`. Synchronous and CPU-bound.
    pub fn to_automerge(&self, partner: &PartnerId) -> Result<AutoCommit, DocError> {
        doc::load_as(
            &self.snapshot,
            self.changes.iter().map(Vec::as_slice),
            partner,
        )
    }
}

fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

fn decode_heads(bytes: &[u8]) -> Option<Vec<ChangeHash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    bytes
        .chunks(32)
        .map(|c| ChangeHash::try_from(c).ok())
        .collect()
}

type MetaRow = (
    String,
    String,
    String,
    String,
    Vec<u8>,
    i64,
    OffsetDateTime,
    i64,
);

fn meta_of(row: MetaRow) -> Result<DocumentMeta, StoreError> {
    let (doc_id, case_id, kind, instance, heads, pending, updated_at, generation) = row;
    Ok(DocumentMeta {
        doc_id: doc_id.parse().map_err(|_| StoreError::Corrupt {
            what: "document id",
        })?,
        key: DocKey {
            case: case_id
                .parse()
                .map_err(|_| StoreError::Corrupt { what: "case id" })?,
            kind: DocumentKind::from_name(&kind).ok_or(StoreError::Corrupt {
                what: "document kind",
            })?,
            instance,
        },
        heads: decode_heads(&heads).ok_or(StoreError::Corrupt {
            what: "document heads",
        })?,
        pending: pending as u64,
        updated_at,
        generation: generation as u64,
    })
}

/// Deleting a document (`$1`: its id) with its whole history and every sync state for it.
const DELETE_DOCUMENT: [&str; 3] = [
    "DELETE FROM sync_state WHERE doc_id = $1",
    "DELETE FROM doc_changes WHERE doc_id = $1",
    "DELETE FROM documents WHERE doc_id = $1",
];

/// One change to append in [`Store::write_batch`].
struct Write<'a> {
    key: &'a DocKey,
    change: &'a Change,
    entry: Option<&'a AuditEntry>,
    /// The generation the document must be at; another one held is replaced. `None`: as it is (0 when new).
    generation: Option<u64>,
}

impl<'a> Write<'a> {
    fn audited(writes: &'a [(DocKey, Change, AuditEntry)]) -> Vec<Write<'a>> {
        writes
            .iter()
            .map(|(key, change, entry)| Write {
                key,
                change,
                entry: Some(entry),
                generation: None,
            })
            .collect()
    }
}

impl Store {
    /// Append a change to a document (creating the document on its first write). Not audited: for the sync
    /// layer, which records receipts itself; API writes go through [`Store::write_document_with_audit`].
    pub async fn write_document(
        &self,
        key: &DocKey,
        change: &Change,
    ) -> Result<WriteReceipt, WriteError> {
        self.write(key, change, None, None).await
    }

    /// Append a change to a document and its audit entry in one transaction: when the audit record cannot be
    /// stored, nothing is (fail closed).
    pub async fn write_document_with_audit(
        &self,
        key: &DocKey,
        change: &Change,
        entry: &AuditEntry,
    ) -> Result<WriteReceipt, WriteError> {
        entry.check()?;
        self.write(key, change, Some(entry), None).await
    }

    /// Append a change received for `generation` of a document, with its audit entry, in one transaction. A
    /// document held here at another generation is replaced: deleted with its whole history and sync states, and
    /// started anew from this change (its creator rewrote it, [`Store::rewrite_documents`]).
    pub async fn write_document_at_generation(
        &self,
        key: &DocKey,
        generation: u64,
        change: &Change,
        entry: &AuditEntry,
    ) -> Result<WriteReceipt, WriteError> {
        entry.check()?;
        self.write(key, change, Some(entry), Some(generation)).await
    }

    /// Rewrite documents without their history (rectificatie, AVG art. 16): each is replaced by `change` — one
    /// change holding its whole current content — as generation `generation`, its old history and sync states
    /// deleted, with `entry` in the audit log, all in one transaction. SQLite's `secure_delete` overwrites the
    /// freed pages; call [`Store::scrub`] afterwards for the write-ahead log.
    pub async fn rewrite_documents(
        &self,
        rewrites: &[(DocKey, u64, Change)],
        notices: &[RectificationNotice],
        entry: &AuditEntry,
    ) -> Result<Vec<WriteReceipt>, WriteError> {
        entry.check()?;
        let batch: Vec<Write<'_>> = rewrites
            .iter()
            .enumerate()
            .map(|(i, (k, g, c))| Write {
                key: k,
                change: c,
                // One record for the whole rectification, with the last document.
                entry: (i + 1 == rewrites.len()).then_some(entry),
                generation: Some(*g),
            })
            .collect();
        self.write_batch(&[], &batch, notices).await
    }

    /// Append changes to several documents of a case, each with its audit entry, in one transaction: all are
    /// stored or none is. What a Transferpunt step writes into two documents at once (the beoordeling and the
    /// aanmeldbericht of an assignment) is never half done, and a concurrent reader never sees half of it.
    pub async fn write_documents_with_audit(
        &self,
        writes: &[(DocKey, Change, AuditEntry)],
    ) -> Result<Vec<WriteReceipt>, WriteError> {
        for (_, _, entry) in writes {
            entry.check()?;
        }
        self.write_batch(&[], &Write::audited(writes), &[]).await
    }

    /// Create new cases and write their documents, each change with its audit entry, in one transaction: every
    /// case and document is stored, or none is (an import of the Excel uitstroommonitor is all or nothing). A case
    /// id that exists already fails the whole transaction.
    pub async fn create_cases_with_documents(
        &self,
        cases: &[CaseId],
        writes: &[(DocKey, Change, AuditEntry)],
    ) -> Result<Vec<WriteReceipt>, WriteError> {
        for (_, _, entry) in writes {
            entry.check()?;
        }
        self.write_batch(cases, &Write::audited(writes), &[]).await
    }

    async fn write(
        &self,
        key: &DocKey,
        change: &Change,
        entry: Option<&AuditEntry>,
        generation: Option<u64>,
    ) -> Result<WriteReceipt, WriteError> {
        let write = Write {
            key,
            change,
            entry,
            generation,
        };
        let mut receipts = self.write_batch(&[], &[write], &[]).await?;
        receipts.pop().ok_or(WriteError::Corrupt {
            what: "write receipt",
        })
    }

    /// Create `new_cases`, then append every change (with its audit entry, if any) and record `notices`, in one
    /// transaction.
    async fn write_batch(
        &self,
        new_cases: &[CaseId],
        writes: &[Write<'_>],
        notices: &[RectificationNotice],
    ) -> Result<Vec<WriteReceipt>, WriteError> {
        let now = self.now();
        let audited = writes.iter().any(|w| w.entry.is_some());
        let rows: Vec<(String, i64, i64, Option<u64>)> = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            if audited
                && let Some(lock) = p.lock_audit()
            {
                sqlx::query(lock).execute(&mut *tx).await.map_err(audit_failed)?;
            }
            for id in new_cases {
                sqlx::query("INSERT INTO cases (id, created_at) VALUES ($1, $2)")
                    .bind(id.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut rows = Vec::with_capacity(writes.len());
            for Write { key, change, entry, generation } in writes {
                if let Some(generation) = generation {
                    // Another generation held here is replaced whole, history and sync states with it.
                    let old: Option<(String,)> = sqlx::query_as(
                        "SELECT doc_id FROM documents \
                         WHERE case_id = $1 AND kind = $2 AND instance = $3 AND generation <> $4",
                    )
                    .bind(key.case.as_str())
                    .bind(key.kind.name())
                    .bind(key.instance.as_str())
                    .bind(*generation as i64)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some((old,)) = old {
                        for statement in DELETE_DOCUMENT {
                            sqlx::query(statement).bind(old.as_str()).execute(&mut *tx).await?;
                        }
                    }
                }
                let heads = encode_heads(&change.heads);
                let updated: Option<(String, i64, i64)> = sqlx::query_as(
                    "UPDATE documents SET last_seq = last_seq + 1, pending = pending + 1, heads = $1, updated_at = $2 \
                     WHERE case_id = $3 AND kind = $4 AND instance = $5 RETURNING doc_id, last_seq, pending",
                )
                .bind(&heads[..])
                .bind(now)
                .bind(key.case.as_str())
                .bind(key.kind.name())
                .bind(key.instance.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                let (doc_id, seq, pending) = match updated {
                    Some(row) => row,
                    None => {
                        let case: Option<(String,)> = sqlx::query_as("SELECT id FROM cases WHERE id = $1")
                            .bind(key.case.as_str())
                            .fetch_optional(&mut *tx)
                            .await?;
                        if case.is_none() {
                            return Err(WriteError::NoSuchCase(key.case.clone()));
                        }
                        let doc_id = DocId::random().to_string();
                        sqlx::query(
                            "INSERT INTO documents \
                             (doc_id, case_id, kind, instance, snapshot, heads, last_seq, pending, updated_at, generation) \
                             VALUES ($1, $2, $3, $4, $5, $6, 1, 1, $7, $8)",
                        )
                        .bind(doc_id.as_str())
                        .bind(key.case.as_str())
                        .bind(key.kind.name())
                        .bind(key.instance.as_str())
                        .bind(Vec::<u8>::new())
                        .bind(&heads[..])
                        .bind(now)
                        .bind(generation.unwrap_or(0) as i64)
                        .execute(&mut *tx)
                        .await?;
                        (doc_id, 1, 1)
                    }
                };
                sqlx::query("INSERT INTO doc_changes (doc_id, seq, change) VALUES ($1, $2, $3)")
                    .bind(doc_id.as_str())
                    .bind(seq)
                    .bind(&change.bytes[..])
                    .execute(&mut *tx)
                    .await?;
                let audit_seq = match entry {
                    Some(e) => Some(append_in_tx!(tx, *e, now).map_err(audit_failed)?),
                    None => None,
                };
                rows.push((doc_id, seq, pending, audit_seq));
            }
            for n in notices {
                super::rectificatie::insert_notice!(tx, n, now);
            }
            tx.commit().await?;
            rows
        });
        let mut receipts = Vec::with_capacity(rows.len());
        for (doc_id, seq, pending, audit_seq) in rows {
            let doc_id: DocId = doc_id.parse().map_err(|_| WriteError::Corrupt {
                what: "document id",
            })?;
            // The write is committed; compaction is housekeeping. If it fails the changes stay and the next write
            // tries again.
            let mut compacted = false;
            if pending > i64::from(self.options.compact_after) {
                match self.compact(&doc_id).await {
                    Ok(done) => compacted = done,
                    Err(e) => {
                        tracing::warn!(doc = %doc_id, error = %e, "compaction failed; will retry on the next write")
                    }
                }
            }
            receipts.push(WriteReceipt {
                doc_id,
                seq: seq as u64,
                audit_seq,
                compacted,
            });
        }
        Ok(receipts)
    }

    /// Fold a document's incremental changes into one snapshot, in one transaction: load snapshot and changes,
    /// `save()` (on a blocking thread), replace the snapshot, delete the changes. Returns `false` when there was
    /// nothing to fold. The document's heads and content are unchanged.
    pub async fn compact(&self, id: &DocId) -> Result<bool, CompactError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            // A no-op update takes the row lock (PostgreSQL) before anything is read.
            let row: Option<(Vec<u8>, i64)> =
                sqlx::query_as("UPDATE documents SET pending = pending WHERE doc_id = $1 RETURNING snapshot, pending")
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((snapshot, pending)) = row else {
                return Err(CompactError::NoSuchDocument(id.clone()));
            };
            if pending == 0 {
                return Ok(false);
            }
            let changes: Vec<(Vec<u8>,)> =
                sqlx::query_as("SELECT change FROM doc_changes WHERE doc_id = $1 ORDER BY seq")
                    .bind(id.as_str())
                    .fetch_all(&mut *tx)
                    .await?;
            let (saved, heads) = tokio::task::spawn_blocking(move || {
                let mut d = doc::load(&snapshot, changes.iter().map(|(c,)| c.as_slice()))?;
                // Uncompressed: deflate would hide values from a byte search, not from anyone reading the file, and
                // the privacy tests search the files for canary values.
                Ok::<_, DocError>((d.save_nocompress(), d.get_heads()))
            })
            .await
            .map_err(|e| CompactError::Task(e.to_string()))?
            .map_err(|source| CompactError::Document { doc: id.clone(), cause: source })?;
            sqlx::query("UPDATE documents SET snapshot = $1, heads = $2, pending = 0 WHERE doc_id = $3")
                .bind(saved)
                .bind(encode_heads(&heads))
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM doc_changes WHERE doc_id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// A document by case, kind and instance, with its bytes.
    pub async fn load_document(&self, key: &DocKey) -> Result<Option<StoredDocument>, StoreError> {
        let id: Option<(String,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT doc_id FROM documents WHERE case_id = $1 AND kind = $2 AND instance = $3")
                .bind(key.case.as_str())
                .bind(key.kind.name())
                .bind(key.instance.as_str())
                .fetch_optional(p)
                .await?
        });
        match id {
            Some((id,)) => {
                let id = id.parse().map_err(|_| StoreError::Corrupt {
                    what: "document id",
                })?;
                self.load_document_by_id(&id).await
            }
            None => Ok(None),
        }
    }

    /// A document by id, with its bytes: the snapshot and the changes are read from one consistent snapshot of
    /// the database, so a concurrent compaction cannot make changes disappear between the two.
    pub async fn load_document_by_id(
        &self,
        id: &DocId,
    ) -> Result<Option<StoredDocument>, StoreError> {
        type Row = (
            String,
            String,
            String,
            String,
            Vec<u8>,
            i64,
            OffsetDateTime,
            i64,
            Vec<u8>,
        );
        let (row, changes): (Option<Row>, Vec<(Vec<u8>,)>) = on_pool!(self, p => {
            let mut tx = p.begin_snapshot_read().await?;
            let row: Option<Row> = sqlx::query_as(
                "SELECT doc_id, case_id, kind, instance, heads, pending, updated_at, generation, snapshot \
                 FROM documents WHERE doc_id = $1",
            )
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let changes = if row.is_some() {
                sqlx::query_as("SELECT change FROM doc_changes WHERE doc_id = $1 ORDER BY seq")
                    .bind(id.as_str())
                    .fetch_all(&mut *tx)
                    .await?
            } else {
                Vec::new()
            };
            tx.commit().await?;
            (row, changes)
        });
        let Some((
            doc_id,
            case_id,
            kind,
            instance,
            heads,
            pending,
            updated_at,
            generation,
            snapshot,
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(StoredDocument {
            meta: meta_of((
                doc_id, case_id, kind, instance, heads, pending, updated_at, generation,
            ))?,
            snapshot,
            changes: changes.into_iter().map(|(c,)| c).collect(),
        }))
    }

    /// The documents of a case, without their bytes, in kind and instance order.
    pub async fn list_documents(&self, case: &CaseId) -> Result<Vec<DocumentMeta>, StoreError> {
        let rows: Vec<MetaRow> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT doc_id, case_id, kind, instance, heads, pending, updated_at, generation \
                 FROM documents WHERE case_id = $1",
            )
            .bind(case.as_str())
            .fetch_all(p)
            .await?
        });
        let mut docs = rows
            .into_iter()
            .map(meta_of)
            .collect::<Result<Vec<_>, _>>()?;
        docs.sort_by(|a, b| (a.key.kind, &a.key.instance).cmp(&(b.key.kind, &b.key.instance)));
        Ok(docs)
    }

    /// Store the Automerge `sync::State` (its `encode()` bytes) for a peer and a document.
    pub async fn put_sync_state(
        &self,
        peer: &PartnerId,
        doc: &DocId,
        state: &[u8],
    ) -> Result<(), StoreError> {
        let now = self.now();
        let peer = peer.to_string();
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO sync_state (peer, doc_id, state, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (peer, doc_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            )
            .bind(peer.as_str())
            .bind(doc.as_str())
            .bind(state)
            .bind(now)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// The stored sync state for a peer and a document, if any. Remember that `sync::State::decode` drops the
    /// read-only flag: set it again after loading.
    pub async fn get_sync_state(
        &self,
        peer: &PartnerId,
        doc: &DocId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let peer = peer.to_string();
        let row: Option<(Vec<u8>,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT state FROM sync_state WHERE peer = $1 AND doc_id = $2")
                .bind(peer.as_str())
                .bind(doc.as_str())
                .fetch_optional(p)
                .await?
        });
        Ok(row.map(|(s,)| s))
    }

    /// Whether a sync state is stored for a peer and a document at a generation: whether the peer was sent it
    /// whole. One query by key, without loading the document.
    pub async fn has_sync_state(
        &self,
        peer: &PartnerId,
        key: &DocKey,
        generation: u64,
    ) -> Result<Option<DocId>, StoreError> {
        let peer = peer.to_string();
        let row: Option<(String,)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT d.doc_id FROM sync_state s JOIN documents d ON s.doc_id = d.doc_id \
                 WHERE s.peer = $1 AND d.case_id = $2 AND d.kind = $3 AND d.instance = $4 AND d.generation = $5",
            )
            .bind(peer.as_str())
            .bind(key.case.as_str())
            .bind(key.kind.name())
            .bind(key.instance.as_str())
            .bind(generation as i64)
            .fetch_optional(p)
            .await?
        });
        row.map(|(id,)| {
            id.parse().map_err(|_| StoreError::Corrupt {
                what: "document id",
            })
        })
        .transpose()
    }

    /// Forget that a peer holds a document (it was told to delete it).
    pub async fn delete_sync_state(&self, peer: &PartnerId, doc: &DocId) -> Result<(), StoreError> {
        let peer = peer.to_string();
        on_pool!(self, p => {
            sqlx::query("DELETE FROM sync_state WHERE peer = $1 AND doc_id = $2")
                .bind(peer.as_str())
                .bind(doc.as_str())
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Delete a document with its whole history and every sync state for it, in one transaction (a document
    /// withdrawn by the partner that shared it). SQLite's `secure_delete` overwrites the freed pages.
    pub async fn delete_document(&self, key: &DocKey) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let row: Option<(String,)> = sqlx::query_as(
                "SELECT doc_id FROM documents WHERE case_id = $1 AND kind = $2 AND instance = $3",
            )
            .bind(key.case.as_str())
            .bind(key.kind.name())
            .bind(key.instance.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((doc_id,)) = row {
                for statement in DELETE_DOCUMENT {
                    sqlx::query(statement)
                        .bind(doc_id.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
