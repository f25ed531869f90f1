//! The browser harness: real headless Chromium, driven over WebDriver from Rust tests.
//!
//! ```no_run
//! # async fn example() {
//! use weerthuis_tests::browser::{Browser, Key};
//! let Some(browser) = Browser::start_or_skip("mijn_test").await else { return };
//! browser.goto("http://127.0.0.1:8080/").await.unwrap();
//! browser.fill("Naam van de cliënt", "Anna").await.unwrap();
//! browser.click_button("Opslaan").await.unwrap();
//! browser.wait_for_text("Opgeslagen").await.unwrap();
//! browser.screen("opgeslagen").await; // a screenshot, and axe finds no WCAG 2.1 AA violation
//! browser.keyboard_activate("Volgende", Key::Enter).await.unwrap(); // Tab until it is focused, then Enter
//! browser.close().await;
//! # }
//! ```
//!
//! Why WebDriver through chromedriver and `fantoccini` rather than the DevTools protocol: WebDriver is the
//! standard a test speaks (find, click, type, keys, cookies, screenshots, scripts), chromedriver comes with
//! Debian's `chromium-driver` in the same version as the browser, and fantoccini is a small, well-kept client
//! over hyper, which the workspace builds already. Without its default `native-tls` feature it pulls in no TLS at
//! all (chromedriver is on loopback); what it adds is ~24 small crates, about 25 s of CPU on a clean build.
//! A CDP client (chromiumoxide) brings a websocket stack and a generated protocol of thousands of types.
//!
//! Every wait is bounded: each WebDriver command by [`Browser::set_step_timeout`] (60 s), each "until" by
//! [`Browser::set_wait_timeout`] (15 s). A `Browser` ends chromedriver and Chromium when dropped, also when the
//! test panics. Errors name what was looked for and what the page had instead.
//!
//! What it needs, found through environment variables that `.ci/run` sets (with defaults for a developer):
//! `WEERTHUIS_CHROMIUM` (`chromium` on the `PATH`), `WEERTHUIS_CHROMEDRIVER` (`chromedriver`),
//! `WEERTHUIS_AXE_JS` (`tests/browser/node_modules/axe-core/axe.min.js`, after `npm ci` in `tests/browser`).
//! Without them [`Browser::start_or_skip`] says loudly that the test is skipped, unless
//! `WEERTHUIS_REQUIRE_CHROMIUM` is set (CI), where it fails.

mod axe;
mod process;

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::{Element, ElementRef};
use fantoccini::{Client, ClientBuilder, Locator};
use serde::Deserialize;
use serde_json::{Value, json};

pub use axe::{Violation, ViolationNode, WCAG21_AA_TAGS, axe_js_path, describe};
pub use fantoccini::cookies::Cookie;
pub use fantoccini::key::Key;

use process::Driver;

/// The flags Chromium needs here. The network is closed: without the `--disable-*` flags Chromium keeps trying
/// to reach Google's services and floods the log with refused connections. `--no-sandbox`: CI runs as root.
const CHROMIUM_FLAGS: [&str; 11] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // /dev/shm is small in containers; Chromium then crashes on large pages.
    "--disable-dev-shm-usage",
    // Screenshots of one size on every machine.
    "--window-size=1280,900",
    // The werkplek is Dutch: pages that follow Accept-Language show Dutch.
    "--lang=nl-NL",
];

/// The longest a single WebDriver command may take (a page load, a script, axe on a large page).
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest an "until" may wait (text to appear, an element to exist).
const WAIT_TIMEOUT: Duration = Duration::from_secs(15);
/// How often an "until" looks again.
const POLL: Duration = Duration::from_millis(100);
/// How many Tabs [`Browser::tab_to`] presses before it gives up: more than any screen of the werkplek has stops.
const MAX_TABS: usize = 60;

/// Why a browser step failed. `Debug` shows the same text as `Display`, so `.unwrap()` in a test prints it whole.
#[derive(thiserror::Error)]
pub enum BrowserError {
    /// Chromium, chromedriver or axe-core is not installed where the harness looks.
    #[error("{what} not found at {path}: {hint}")]
    NotInstalled {
        /// What is missing.
        what: &'static str,
        /// Where it was looked for.
        path: String,
        /// How to install it.
        hint: &'static str,
    },
    /// chromedriver did not start.
    #[error("{message} (chromedriver's output: {})", log.display())]
    Driver {
        /// What went wrong.
        message: String,
        /// chromedriver's and Chromium's output.
        log: PathBuf,
    },
    /// No WebDriver session (Chromium did not start, or the versions do not match).
    #[error("no browser session: {source} (chromedriver's output: {})", log.display())]
    Session {
        /// fantoccini's error.
        source: fantoccini::error::NewSessionError,
        /// chromedriver's and Chromium's output.
        log: PathBuf,
    },
    /// A WebDriver command failed.
    #[error("{action}: {source}")]
    Command {
        /// What the harness was doing.
        action: String,
        /// fantoccini's error.
        source: fantoccini::error::CmdError,
    },
    /// A step or a wait took too long.
    #[error("{action}: not done after {after:?}{detail}")]
    Timeout {
        /// What the harness was doing.
        action: String,
        /// How long it waited.
        after: Duration,
        /// What the page showed instead (may be empty).
        detail: String,
    },
    /// No element on the page answers the description.
    #[error("{what}: not on the page {url}; there are: {}", available.join(" | "))]
    NotFound {
        /// What was looked for.
        what: String,
        /// The page.
        url: String,
        /// What the page has of that kind (field names, buttons, …), to spot a typo or a missing label.
        available: Vec<String>,
    },
    /// Tab never reached the element.
    #[error("Tab did not reach {name:?}; focus went through: {}", visited.join(" → "))]
    NotReachable {
        /// The accessible name looked for.
        name: String,
        /// What got focus, in order.
        visited: Vec<String>,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The page answered something the harness did not expect.
    #[error("{0}")]
    Page(String),
}

impl fmt::Debug for BrowserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl BrowserError {
    fn io(path: &Path, source: std::io::Error) -> BrowserError {
        BrowserError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A browser step's result.
pub type BrowserResult<T> = Result<T, BrowserError>;

/// Where the harness finds what it runs.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The chromedriver binary (same version as Chromium).
    pub chromedriver: PathBuf,
    /// axe-core's `axe.min.js`.
    pub axe_js: PathBuf,
}

impl Setup {
    /// Find Chromium, chromedriver and axe-core from the environment (see the module's documentation).
    pub fn from_env() -> BrowserResult<Setup> {
        let chromium = binary("WEERTHUIS_CHROMIUM", &["chromium", "chromium-browser"]).ok_or(
            BrowserError::NotInstalled {
                what: "Chromium",
                path: env_or("WEERTHUIS_CHROMIUM", "chromium on the PATH"),
                hint: "apt-get install chromium, or set WEERTHUIS_CHROMIUM",
            },
        )?;
        let chromedriver = binary("WEERTHUIS_CHROMEDRIVER", &["chromedriver"]).ok_or(
            BrowserError::NotInstalled {
                what: "chromedriver",
                path: env_or("WEERTHUIS_CHROMEDRIVER", "chromedriver on the PATH"),
                hint: "apt-get install chromium-driver, or set WEERTHUIS_CHROMEDRIVER",
            },
        )?;
        let axe_js = axe_js_path();
        if !axe_js.is_file() {
            return Err(BrowserError::NotInstalled {
                what: "axe-core",
                path: axe_js.display().to_string(),
                hint: "run `npm ci` in tests/browser, or set WEERTHUIS_AXE_JS",
            });
        }
        Ok(Setup {
            chromium,
            chromedriver,
            axe_js,
        })
    }
}

/// The binary an environment variable names, or the first of `names` on the `PATH`.
fn binary(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&dirs)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

/// Whether browser tests must run (CI sets `WEERTHUIS_REQUIRE_CHROMIUM` once it installed everything).
pub fn required() -> bool {
    std::env::var_os("WEERTHUIS_REQUIRE_CHROMIUM").is_some()
}

/// Where a test's screenshots go: `WEERTHUIS_SCREENSHOT_DIR`, or `werkplek-screenshots` in the cargo target
/// directory (found from the test binary's path, `target/<profile>/deps/…`, so `CARGO_TARGET_DIR` is honoured).
pub fn screenshot_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEERTHUIS_SCREENSHOT_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("werkplek-screenshots")
}

/// What has keyboard focus.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Focus {
    /// Its accessible name (aria-labelledby, aria-label, its label, its text, title or placeholder).
    pub name: String,
    /// Its tag, lower case.
    pub tag: String,
    /// Its `role` attribute, if any.
    pub role: Option<String>,
    /// Its `id`, if any.
    pub id: Option<String>,
}

impl fmt::Display for Focus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}", self.tag)?;
        if let Some(id) = &self.id {
            write!(f, " id={id:?}")?;
        }
        write!(f, "> {:?}", self.name)
    }
}

/// A simplified accessible name — what a screen reader announces and what a test names elements by: the
/// elements `aria-labelledby` names, `aria-label`, the `<label>`s, then (for buttons, links and the like) the text,
/// then `title` or `placeholder`. Hidden text (`aria-hidden`, `hidden`) does not count, so a decorative "*" in a
/// label does not change the name. Defined once and prefixed to every script that names elements.
const NAME_JS: &str = r#"
const wtNorm = (s) => (s || '').replace(/\s+/g, ' ').trim();
const wtText = (node) => {
  if (node.nodeType === 3) return node.textContent;
  if (node.nodeType !== 1) return '';
  if (node.getAttribute('aria-hidden') === 'true' || node.hidden) return '';
  const tag = node.tagName.toLowerCase();
  if (tag === 'script' || tag === 'style') return '';
  return Array.from(node.childNodes).map(wtText).join('');
};
const wtName = (el) => {
  if (!el || el.nodeType !== 1) return '';
  const by = el.getAttribute('aria-labelledby');
  if (by) {
    const t = wtNorm(by.split(/\s+/).map((id) => {
      const r = document.getElementById(id);
      return r ? wtText(r) : '';
    }).join(' '));
    if (t) return t;
  }
  const aria = wtNorm(el.getAttribute('aria-label'));
  if (aria) return aria;
  if (el.labels && el.labels.length) {
    const t = wtNorm(Array.from(el.labels).map(wtText).join(' '));
    if (t) return t;
  }
  const tag = el.tagName.toLowerCase();
  if (tag === 'input' && ['submit', 'button', 'reset'].includes(el.type)) return wtNorm(el.value);
  const role = el.getAttribute('role') || '';
  if (['button', 'a', 'summary', 'option', 'label'].includes(tag)
      || ['button', 'link', 'tab', 'menuitem', 'checkbox', 'radio', 'switch', 'option'].includes(role)) {
    const t = wtNorm(wtText(el));
    if (t) return t;
  }
  return wtNorm(el.getAttribute('title') || el.getAttribute('placeholder') || '');
};
const wtVisible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
"#;

/// Finds the one visible element matching `arguments[0]` (CSS) whose accessible name — or, when
/// `arguments[2]`, `name` or `id` — is `arguments[1]`. Answers `{ found }` or `{ available }` (every candidate's
/// name, for the error message) or `{ ambiguous }`.
const FIND_JS: &str = r#"
const [selector, wanted, byNameOrId] = arguments;
const all = Array.from(document.querySelectorAll(selector)).filter(wtVisible);
const hits = all.filter((el) => wtName(el) === wtNorm(wanted)
  || (byNameOrId && (el.getAttribute('name') === wanted || el.id === wanted)));
if (hits.length === 1) return { found: hits[0] };
if (hits.length > 1) return { ambiguous: hits.length };
return { available: all.map((el) => wtName(el) || el.getAttribute('name') || el.id || el.tagName.toLowerCase()) };
"#;

const FOCUS_JS: &str = r#"
const el = document.activeElement;
if (!el || el === document.body || el === document.documentElement) return null;
return { name: wtName(el), tag: el.tagName.toLowerCase(), role: el.getAttribute('role'), id: el.id || null };
"#;

/// Finds, inside the one visible group (a `<fieldset>` named by its `<legend>`, or an element of role `group` or
/// `radiogroup` named like any other) whose name is `arguments[0]`, the one radio button or checkbox whose
/// accessible name is `arguments[1]`: "ja" under "Voorwaarde: 18 jaar of ouder", as a screen reader announces it.
/// Answers like [`FIND_JS`].
const CHOOSE_JS: &str = r#"
const [group, option] = arguments;
const groupName = (g) => {
  const named = wtName(g);
  if (named) return named;
  const legend = g.querySelector(':scope > legend');
  return legend ? wtNorm(wtText(legend)) : '';
};
const groups = Array.from(document.querySelectorAll('fieldset, [role=group], [role=radiogroup]')).filter(wtVisible);
const inGroup = groups.filter((g) => groupName(g) === wtNorm(group));
if (inGroup.length > 1) return { ambiguous: inGroup.length };
if (inGroup.length === 0) return { available: groups.map(groupName).filter((n) => n) };
const all = Array.from(inGroup[0].querySelectorAll('input[type=radio], input[type=checkbox], [role=radio], [role=checkbox]'))
  .filter(wtVisible);
const hits = all.filter((el) => wtName(el) === wtNorm(option));
if (hits.length === 1) return { found: hits[0] };
if (hits.length > 1) return { ambiguous: hits.length };
return { available: all.map((el) => `${group}: ${wtName(el)}`) };
"#;

/// Form fields, by what a person fills in.
const FIELDS: &str = "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]), \
                      textarea, select, [contenteditable=true], [role=textbox], [role=combobox]";
/// Buttons, by what they do.
const BUTTONS: &str =
    "button, input[type=submit], input[type=button], input[type=reset], [role=button]";
/// Links.
const LINKS: &str = "a[href], [role=link]";

/// A headless Chromium under chromedriver, one WebDriver session: one test's browser.
pub struct Browser {
    // Field order is drop order: the session's handle first, then chromedriver (killed with Chromium), and only
    // then the profile directory Chromium wrote into.
    client: Client,
    driver: Driver,
    _profile: tempfile::TempDir,
    test: String,
    shots: PathBuf,
    shot_count: AtomicU32,
    axe_source: String,
    step_timeout: Duration,
    wait_timeout: Duration,
}

impl Browser {
    /// Start a browser for the test `test` (its screenshots go to `<screenshot_root>/<test>/`), or — when Chromium,
    /// chromedriver or axe-core is missing and `WEERTHUIS_REQUIRE_CHROMIUM` is not set — say loudly that the test
    /// is skipped and answer `None`. With `WEERTHUIS_REQUIRE_CHROMIUM` set, anything missing fails the test.
    pub async fn start_or_skip(test: &str) -> Option<Browser> {
        let setup = match Setup::from_env() {
            Ok(setup) => setup,
            Err(e) if !required() => {
                // Straight to stderr, not `eprintln!`: the test harness would capture that and, the test passing,
                // never show it — and a skip must not pass unnoticed.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n{bar}\nSKIPPED {test}: {e}\n\
                     (a browser test; CI installs what it needs and sets WEERTHUIS_REQUIRE_CHROMIUM)\n{bar}",
                    bar = "!".repeat(100)
                );
                return None;
            }
            Err(e) => panic!("{test}: WEERTHUIS_REQUIRE_CHROMIUM is set, but {e}"),
        };
        match Browser::start(test, &setup).await {
            Ok(browser) => Some(browser),
            Err(e) => panic!("{test}: the browser did not start: {e}"),
        }
    }

    /// Start chromedriver (on a port the system picks) and a headless Chromium with a fresh profile under it.
    pub async fn start(test: &str, setup: &Setup) -> BrowserResult<Browser> {
        let axe_source = std::fs::read_to_string(&setup.axe_js)
            .map_err(|e| BrowserError::io(&setup.axe_js, e))?;
        let shots = screenshot_root().join(sanitize(test));
        // A run's screenshots only: an earlier run with more screens would leave stale ones beside them.
        if shots.exists() {
            std::fs::remove_dir_all(&shots).map_err(|e| BrowserError::io(&shots, e))?;
        }
        std::fs::create_dir_all(&shots).map_err(|e| BrowserError::io(&shots, e))?;
        let profile = tempfile::Builder::new()
            .prefix("weerthuis-chromium-")
            .tempdir()
            .map_err(|e| BrowserError::io(&std::env::temp_dir(), e))?;
        // The log stays beside the screenshots, so a failure in CI can be read afterwards.
        let driver = Driver::start(&setup.chromedriver, &shots.join("chromedriver.log"))?;

        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(ToString::to_string).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": setup.chromium, "args": args }),
        );
        // A browser dialog nobody answers would block every later command; dismiss it and report it.
        capabilities.insert(
            "unhandledPromptBehavior".into(),
            json!("dismiss and notify"),
        );
        let url = format!("http://127.0.0.1:{}", driver.port());
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut builder = ClientBuilder::new(connector);
        builder.capabilities(capabilities);
        let client = match tokio::time::timeout(STEP_TIMEOUT, builder.connect(&url)).await {
            Ok(Ok(client)) => client,
            Ok(Err(source)) => {
                return Err(BrowserError::Session {
                    source,
                    log: driver.log().to_path_buf(),
                });
            }
            Err(_) => {
                return Err(BrowserError::Timeout {
                    action: "starting Chromium".into(),
                    after: STEP_TIMEOUT,
                    detail: format!(" (chromedriver's output: {})", driver.log().display()),
                });
            }
        };
        let browser = Browser {
            client,
            driver,
            _profile: profile,
            test: test.to_string(),
            shots,
            shot_count: AtomicU32::new(0),
            axe_source,
            step_timeout: STEP_TIMEOUT,
            wait_timeout: WAIT_TIMEOUT,
        };
        // The browser's own limits, below the harness's, so a slow page is reported by WebDriver with its reason.
        let limits = fantoccini::wd::TimeoutConfiguration::new(
            Some(STEP_TIMEOUT / 2),
            Some(STEP_TIMEOUT / 2),
            Some(Duration::ZERO),
        );
        browser
            .step(
                "setting the browser's timeouts",
                browser.client.update_timeouts(limits),
            )
            .await?;
        Ok(browser)
    }

    /// End the WebDriver session, then chromedriver and Chromium. Dropping a `Browser` ends the processes too;
    /// this is the polite way, which lets Chromium close its profile.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.clone().close()).await;
        // Drop kills chromedriver's process group.
    }

    /// The fantoccini client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where this test's screenshots go.
    pub fn screenshot_dir(&self) -> &Path {
        &self.shots
    }

    /// How long one WebDriver command may take (default 60 s).
    pub fn set_step_timeout(&mut self, timeout: Duration) {
        self.step_timeout = timeout;
    }

    /// How long the `wait_*` helpers wait (default 15 s).
    pub fn set_wait_timeout(&mut self, timeout: Duration) {
        self.wait_timeout = timeout;
    }

    /// One WebDriver command, bounded.
    async fn step<T>(
        &self,
        action: impl Into<String>,
        fut: impl Future<Output = Result<T, fantoccini::error::CmdError>>,
    ) -> BrowserResult<T> {
        match tokio::time::timeout(self.step_timeout, fut).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(BrowserError::Command {
                action: action.into(),
                source,
            }),
            Err(_) => Err(BrowserError::Timeout {
                action: action.into(),
                after: self.step_timeout,
                detail: String::new(),
            }),
        }
    }

    /// Run a script with the name helpers in scope.
    async fn script(&self, action: &str, body: &str, args: Vec<Value>) -> BrowserResult<Value> {
        let script = format!("{NAME_JS}\n{body}");
        self.step(action, self.client.execute(&script, args)).await
    }

    /// Open `url` and wait for it to load.
    pub async fn goto(&self, url: &str) -> BrowserResult<()> {
        self.step(format!("opening {url}"), self.client.goto(url))
            .await
    }

    /// The page's address.
    pub async fn url(&self) -> BrowserResult<String> {
        let url = self
            .step("reading the address", self.client.current_url())
            .await?;
        Ok(url.to_string())
    }

    /// The page's title.
    pub async fn title(&self) -> BrowserResult<String> {
        self.step("reading the title", self.client.title()).await
    }

    /// Find the one visible element of `selector` named `wanted`, waiting (bounded) for it to appear.
    async fn find_named(
        &self,
        kind: &str,
        selector: &str,
        wanted: &str,
        by_name_or_id: bool,
    ) -> BrowserResult<Element> {
        self.find_by(
            &format!("{kind} {wanted:?}"),
            FIND_JS,
            vec![json!(selector), json!(wanted), json!(by_name_or_id)],
        )
        .await
    }

    /// Find the one element `script` (answering like [`FIND_JS`]) finds with `args`, waiting (bounded) for it.
    async fn find_by(&self, what: &str, script: &str, args: Vec<Value>) -> BrowserResult<Element> {
        let what = what.to_string();
        let deadline = Instant::now() + self.wait_timeout;
        loop {
            let answer = self
                .script(&format!("looking for {what}"), script, args.clone())
                .await?;
            if let Some(found) = answer.get("found") {
                return self.element(found);
            }
            if let Some(n) = answer.get("ambiguous") {
                return Err(BrowserError::Page(format!(
                    "{what}: {n} elements on {} have that name; a test (and a screen reader user) needs one",
                    self.url().await.unwrap_or_default()
                )));
            }
            if Instant::now() > deadline {
                let available = answer
                    .get("available")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|v| v.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                return Err(BrowserError::NotFound {
                    what,
                    url: self.url().await.unwrap_or_default(),
                    available,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// An element a script returned (a WebDriver element reference).
    fn element(&self, value: &Value) -> BrowserResult<Element> {
        let id = value
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .ok_or_else(|| BrowserError::Page(format!("not an element reference: {value}")))?;
        Ok(Element::from_element_id(
            self.client.clone(),
            ElementRef::from(id.to_string()),
        ))
    }

    /// Fill the field labelled `label` (its accessible name — normally the `<label>` text) or with that `name` or
    /// `id` attribute: what was in it is cleared and `value` typed. A `<select>` gets the option with that text.
    pub async fn fill(&self, label: &str, value: &str) -> BrowserResult<()> {
        let field = self.find_named("field", FIELDS, label, true).await?;
        let action = format!("filling {label:?}");
        let tag = self.step(&action, field.tag_name()).await?;
        if tag.eq_ignore_ascii_case("select") {
            return self.step(&action, field.select_by_label(value)).await;
        }
        self.step(&action, field.clear()).await?;
        self.step(&action, field.send_keys(value)).await
    }

    /// Tick or untick the checkbox (or radio button) labelled `label` by clicking it when it is not as wanted.
    pub async fn set_checked(&self, label: &str, checked: bool) -> BrowserResult<()> {
        let field = self.find_named("field", FIELDS, label, true).await?;
        let action = format!("ticking {label:?}");
        if self.step(&action, field.is_selected()).await? != checked {
            self.step(&action, field.click()).await?;
        }
        Ok(())
    }

    /// Tick the radio button or checkbox named `option` in the group named `group` (a `<fieldset>` by its
    /// `<legend>`), as a person picks "ja" under one question of many that all offer "ja" and "nee".
    pub async fn choose(&self, group: &str, option: &str) -> BrowserResult<()> {
        let what = format!("{option:?} in the group {group:?}");
        let field = self
            .find_by(&what, CHOOSE_JS, vec![json!(group), json!(option)])
            .await?;
        let action = format!("choosing {what}");
        if !self.step(&action, field.is_selected()).await? {
            self.step(&action, field.click()).await?;
        }
        Ok(())
    }

    /// The value in the field labelled `label` (or with that `name` or `id`).
    pub async fn value_of(&self, label: &str) -> BrowserResult<String> {
        let field = self.find_named("field", FIELDS, label, true).await?;
        let value = self
            .step(format!("reading {label:?}"), field.prop("value"))
            .await?;
        Ok(value.unwrap_or_default())
    }

    /// Click the button whose text (accessible name) is `text`, as a mouse would.
    pub async fn click_button(&self, text: &str) -> BrowserResult<()> {
        let button = self.find_named("button", BUTTONS, text, false).await?;
        self.step(format!("clicking {text:?}"), button.click())
            .await
    }

    /// Click the link whose text (accessible name) is `text`.
    pub async fn click_link(&self, text: &str) -> BrowserResult<()> {
        let link = self.find_named("link", LINKS, text, false).await?;
        self.step(format!("clicking {text:?}"), link.click()).await
    }

    /// Press one key (Tab, Enter, Space, Escape, arrows, …) on whatever has focus, as a keyboard does: a key
    /// down and up through WebDriver's actions, not an event faked in the page.
    pub async fn press(&self, key: Key) -> BrowserResult<()> {
        self.keys(&format!("pressing {key:?}"), &[char::from(key)])
            .await
    }

    /// Press Shift+Tab.
    pub async fn press_shift_tab(&self) -> BrowserResult<()> {
        let (shift, tab) = (char::from(Key::Shift), char::from(Key::Tab));
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: shift })
            .then(KeyAction::Down { value: tab })
            .then(KeyAction::Up { value: tab })
            .then(KeyAction::Up { value: shift });
        self.step("pressing Shift+Tab", self.client.perform_actions(actions))
            .await
    }

    /// Type `text` into whatever has focus, key by key.
    pub async fn type_text(&self, text: &str) -> BrowserResult<()> {
        let chars: Vec<char> = text.chars().collect();
        self.keys(&format!("typing {text:?}"), &chars).await
    }

    async fn keys(&self, action: &str, chars: &[char]) -> BrowserResult<()> {
        let mut actions = KeyActions::new("keyboard".into());
        for &value in chars {
            actions = actions
                .then(KeyAction::Down { value })
                .then(KeyAction::Up { value });
        }
        self.step(action, self.client.perform_actions(actions))
            .await
    }

    /// What has keyboard focus (`None`: nothing, or the page itself).
    pub async fn focused(&self) -> BrowserResult<Option<Focus>> {
        let value = self
            .script("reading the focus", FOCUS_JS, Vec::new())
            .await?;
        serde_json::from_value(value)
            .map_err(|e| BrowserError::Page(format!("the focus could not be read: {e}")))
    }

    /// Press Tab until the element named `name` has focus (nothing is pressed when it has focus already). Fails
    /// with the whole focus order it went through when Tab does not get there within a screen's worth of stops —
    /// which is itself an accessibility finding.
    pub async fn tab_to(&self, name: &str) -> BrowserResult<Focus> {
        let wanted = normalize(name);
        let mut visited = Vec::new();
        for _ in 0..=MAX_TABS {
            match self.focused().await? {
                Some(focus) if focus.name == wanted => return Ok(focus),
                Some(focus) => visited.push(focus.to_string()),
                None => visited.push("(page)".into()),
            }
            self.press(Key::Tab).await?;
        }
        Err(BrowserError::NotReachable {
            name: name.to_string(),
            visited,
        })
    }

    /// Keyboard only: Tab to the element named `name`, then press `key` on it — [`Key::Enter`] for buttons and
    /// links, [`Key::Space`] for checkboxes, radio buttons and buttons.
    pub async fn keyboard_activate(&self, name: &str, key: Key) -> BrowserResult<()> {
        self.tab_to(name).await?;
        self.press(key).await
    }

    /// The ISO date `iso` (`2025-09-10`) as a person types it into a date field: day, month and year in the order
    /// of the browser's own locale (headless Chromium keeps its built-in locale whatever `--lang` says), each part
    /// moving on to the next by itself.
    pub async fn typed_date(&self, iso: &str) -> BrowserResult<String> {
        let order = self
            .step(
                "reading the browser's date order",
                self.client.execute(
                    "return new Intl.DateTimeFormat().formatToParts(new Date(2000, 10, 22))\
                       .filter((p) => ['day', 'month', 'year'].includes(p.type)).map((p) => p.type);",
                    Vec::new(),
                ),
            )
            .await?;
        let order: Vec<String> = serde_json::from_value(order).unwrap_or_default();
        let mut parts = iso.splitn(3, '-');
        let (year, month, day) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        Ok(order
            .iter()
            .map(|part| match part.as_str() {
                "day" => day,
                "month" => month,
                _ => year,
            })
            .collect())
    }

    /// The page's visible text.
    pub async fn body_text(&self) -> BrowserResult<String> {
        let value = self
            .step(
                "reading the page's text",
                self.client.execute(
                    "return document.body ? document.body.innerText : '';",
                    Vec::new(),
                ),
            )
            .await?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    /// Wait (bounded) until `text` is in the page's visible text. On time-out a screenshot is saved and the error
    /// shows the text the page had.
    pub async fn wait_for_text(&self, text: &str) -> BrowserResult<()> {
        let deadline = Instant::now() + self.wait_timeout;
        loop {
            let body = self.body_text().await?;
            if body.contains(text) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let shot = self.screenshot("timeout").await.ok();
                let mut shown: String = body.chars().take(2000).collect();
                if shown.len() < body.len() {
                    shown.push('…');
                }
                return Err(BrowserError::Timeout {
                    action: format!(
                        "waiting for {text:?} on {}",
                        self.url().await.unwrap_or_default()
                    ),
                    after: self.wait_timeout,
                    detail: format!(
                        "; the page shows:\n{shown}{}",
                        shot.map(|p| format!("\n(screenshot: {})", p.display()))
                            .unwrap_or_default()
                    ),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The visible text of the element `css` selects, waiting (bounded) for it to exist.
    pub async fn text_of(&self, css: &str) -> BrowserResult<String> {
        let deadline = Instant::now() + self.wait_timeout;
        loop {
            let action = format!("reading the text of {css:?}");
            // Not through `step`: "no such element" is an answer here (not yet), not a failure.
            let found =
                tokio::time::timeout(self.step_timeout, self.client.find(Locator::Css(css)))
                    .await
                    .map_err(|_| BrowserError::Timeout {
                        action: action.clone(),
                        after: self.step_timeout,
                        detail: String::new(),
                    })?;
            match found {
                Ok(element) => return self.step(action, element.text()).await,
                Err(e) if e.is_no_such_element() && Instant::now() <= deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) if e.is_no_such_element() => {
                    return Err(BrowserError::NotFound {
                        what: format!("an element {css:?}"),
                        url: self.url().await.unwrap_or_default(),
                        available: Vec::new(),
                    });
                }
                Err(source) => return Err(BrowserError::Command { action, source }),
            }
        }
    }

    /// The cookies the browser holds for the page's site (HttpOnly ones too: WebDriver sees them).
    pub async fn cookies(&self) -> BrowserResult<Vec<Cookie<'static>>> {
        self.step("reading the cookies", self.client.get_all_cookies())
            .await
    }

    /// Save a screenshot of the viewport as `<screenshot_dir>/<nn>-<name>.png` (numbered in the order taken).
    pub async fn screenshot(&self, name: &str) -> BrowserResult<PathBuf> {
        let png = self
            .step(
                format!("taking the screenshot {name:?}"),
                self.client.screenshot(),
            )
            .await?;
        let n = self.shot_count.fetch_add(1, Ordering::Relaxed) + 1;
        let path = self.shots.join(format!("{n:02}-{}.png", sanitize(name)));
        std::fs::write(&path, png).map_err(|e| BrowserError::io(&path, e))?;
        Ok(path)
    }

    /// Run axe-core on the page with the WCAG 2.1 A and AA rules ([`WCAG21_AA_TAGS`]) and answer its violations.
    /// axe is injected when the page does not have it (every navigation drops it). Through WebDriver's script
    /// execution, so a page's Content-Security-Policy does not keep it out.
    pub async fn axe(&self) -> BrowserResult<Vec<Violation>> {
        let present = self
            .step(
                "looking for axe",
                self.client.execute(axe::PRESENT, Vec::new()),
            )
            .await?;
        if present != Value::Bool(true) {
            self.step(
                "injecting axe-core",
                self.client.execute(&self.axe_source, Vec::new()),
            )
            .await?;
        }
        let answer = self
            .step(
                "running axe",
                self.client
                    .execute_async(axe::RUN, vec![json!(WCAG21_AA_TAGS)]),
            )
            .await?;
        let answer: axe::AxeAnswer = serde_json::from_value(answer)
            .map_err(|e| BrowserError::Page(format!("axe's answer could not be read: {e}")))?;
        match (answer.violations, answer.error) {
            (Some(violations), _) => Ok(violations),
            (None, error) => Err(BrowserError::Page(format!(
                "axe did not run: {}",
                error.unwrap_or_default()
            ))),
        }
    }

    /// Panic, listing every violation, unless axe finds no WCAG 2.1 A/AA violation on the page; `screen` names
    /// the page in the message.
    pub async fn assert_accessible(&self, screen: &str) {
        let url = self.url().await.unwrap_or_default();
        let violations = self
            .axe()
            .await
            .unwrap_or_else(|e| panic!("{}: axe on {screen} ({url}): {e}", self.test));
        assert!(
            violations.is_empty(),
            "{}: {} WCAG 2.1 AA violation(s) on {screen} ({url}):\n{}",
            self.test,
            violations.len(),
            describe(&violations)
        );
    }

    /// A screen of the run: its screenshot saved (see [`Browser::screenshot`]), then [`Browser::assert_accessible`].
    pub async fn screen(&self, name: &str) -> PathBuf {
        let path = self
            .screenshot(name)
            .await
            .unwrap_or_else(|e| panic!("{}: screenshot of {name}: {e}", self.test));
        self.assert_accessible(name).await;
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Before the profile directory goes (the fields drop after this), so Chromium is no longer writing in it.
        self.driver.kill();
    }
}

/// Whitespace collapsed, as the page's names are.
fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A name that is safe as a file name: letters, digits, `-` and `_`; anything else becomes `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{normalize, sanitize};

    #[test]
    fn file_names_and_names() {
        assert_eq!(sanitize("02 fout/melding"), "02_fout_melding");
        assert_eq!(normalize("  Naam van\n de cliënt "), "Naam van de cliënt");
    }
}
