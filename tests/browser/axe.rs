//! axe-core in the page: injected from the pinned npm package, run with the WCAG 2.1 A and AA rules.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The axe-core tags of WCAG 2.0 and 2.1, levels A and AA: what "no WCAG 2.1 AA violation" is checked against.
pub const WCAG21_AA_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// Where `axe.min.js` is: `WEERTHUIS_AXE_JS` (`.ci/run` sets it), or the copy `npm ci` put under `tests/browser/`.
pub fn axe_js_path() -> PathBuf {
    match std::env::var_os("WEERTHUIS_AXE_JS") {
        Some(path) => PathBuf::from(path),
        None => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/node_modules/axe-core/axe.min.js")
        }
    }
}

/// One rule axe found broken, with every element that breaks it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The rule's id, e.g. `label` or `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical` (axe leaves it out for some rules).
    pub impact: Option<String>,
    /// What the rule asks, in one line.
    pub help: String,
    /// axe's page on the rule.
    pub help_url: String,
    /// The elements that break it.
    pub nodes: Vec<ViolationNode>,
}

/// An element that breaks a rule.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ViolationNode {
    /// CSS selectors of the element (one per frame or shadow root on the way to it).
    pub target: Vec<String>,
    /// The element's opening HTML, as axe shows it.
    pub html: String,
    /// Why it fails, as axe words it.
    pub failure_summary: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let impact = self.impact.as_deref().unwrap_or("unknown impact");
        writeln!(
            f,
            "{} ({impact}): {} — {}",
            self.id, self.help, self.help_url
        )?;
        for node in &self.nodes {
            writeln!(f, "    {}  {}", node.target.join(" "), node.html)?;
            for line in node.failure_summary.lines() {
                writeln!(f, "        {line}")?;
            }
        }
        Ok(())
    }
}

/// What the page's axe run answers: violations, or why it could not run.
#[derive(Deserialize)]
pub(crate) struct AxeAnswer {
    pub(crate) violations: Option<Vec<Violation>>,
    pub(crate) error: Option<String>,
}

/// Runs axe on the document with the tags in `arguments[0]` and hands back only what the harness reports.
/// Targets inside frames or shadow roots are lists of selectors; they are joined so every target is a string.
pub(crate) const RUN: &str = r#"
const done = arguments[arguments.length - 1];
const tags = arguments[0];
if (typeof window.axe === 'undefined') { done({ error: 'axe-core is not in the page' }); return; }
window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
  .then((r) => done({
    violations: r.violations.map((v) => ({
      id: v.id,
      impact: v.impact || null,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({
        target: n.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : String(t))),
        html: n.html,
        failureSummary: n.failureSummary || '',
      })),
    })),
  }))
  .catch((e) => done({ error: String((e && e.stack) || e) }));
"#;

/// Whether axe is in the page already (a navigation drops it).
pub(crate) const PRESENT: &str = "return typeof window.axe !== 'undefined';";

/// A list of violations, one block each, for a failure message.
pub fn describe(violations: &[Violation]) -> String {
    violations.iter().map(ToString::to_string).collect()
}
