//! The console in a real browser: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`). Screenshots of each page go to target/console-screenshots/.
//! Without a browser the test fails under CI=true and is skipped with a notice elsewhere.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use carelog_auth::Role;
use carelog_blackbox::Backend;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::{ADDENDUM_TEXT, NOTE_TEXT, Stack, token};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free loopback port, killed when dropped.
pub(crate) struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn path_of(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default))
}

/// None (with a notice) when no browser is installed and this is not CI.
pub(crate) async fn driver() -> Option<Driver> {
    let (driver, browser) = (path_of("CHROMEDRIVER", CHROMEDRIVER), path_of("CHROMIUM", CHROMIUM));
    if !driver.exists() || !browser.exists() {
        let message = format!(
            "no browser: {} or {} is missing (apt-get install chromium chromium-driver)",
            driver.display(),
            browser.display()
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}: CI must run the browser tests");
        eprintln!("SKIPPED the browser test: {message}");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    // Owned at once: dropped (killed and reaped) on every path.
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on {port}");
}

pub(crate) async fn browser(driver: &Driver) -> Client {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": path_of("CHROMIUM", CHROMIUM),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1700", "--no-first-run", "--disable-extensions"]
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else { unreachable!() };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector).capabilities(capabilities).connect(&driver.url).await.expect("a browser session")
}

pub(crate) fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

pub(crate) async fn snap(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("write screenshot");
}

pub(crate) async fn text_of(browser: &Client, css: &str) -> String {
    browser.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).text().await.unwrap()
}

pub(crate) async fn sign_in(browser: &Client, stack: &Stack, token: &str) {
    browser.goto(&stack.url("/episode")).await.unwrap();
    assert!(browser.current_url().await.unwrap().path().ends_with("/signin"), "signed-out users land on sign-in");
    browser.find(Locator::Id("token")).await.unwrap().send_keys(token).await.unwrap();
    browser.find(Locator::Id("signin")).await.unwrap().click().await.unwrap();
    if browser.wait().for_element(Locator::Id("client-id-input")).await.is_err() {
        let (url, page) = (browser.current_url().await.unwrap(), browser.source().await.unwrap());
        panic!("no home page after sign-in; at {url}:\n{page}");
    }
}

pub(crate) async fn open_client(browser: &Client, client_id: &str) {
    browser.find(Locator::Id("client-id-input")).await.unwrap().send_keys(client_id).await.unwrap();
    browser.find(Locator::Id("open-client")).await.unwrap().click().await.unwrap();
    browser.wait().for_element(Locator::Id("as-of-shown")).await.expect("the episode page");
    let url = browser.current_url().await.unwrap();
    assert!(!url.as_str().contains(client_id), "no PHI in the URL: {url}");
}

async fn show_as_of(browser: &Client, position: u64) -> String {
    let input = browser.find(Locator::Id("as-of-input")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(&position.to_string()).await.unwrap();
    browser.find(Locator::Id("as-of-submit")).await.unwrap().click().await.unwrap();
    let expected = format!("as it stood at log position {position} ");
    browser
        .wait()
        .for_element(Locator::XPath(&format!("//p[@id='as-of-shown'][contains(., '{expected}')]")))
        .await
        .expect("the as-of view");
    text_of(browser, "#sessions").await
}

async fn an_auditor_and_a_biller_audit_the_demo_episode(stack: &Stack) {
    let Some(driver) = driver().await else { return };
    let browser = browser(&driver).await;
    let (addendum_at, session_id) = stack.addendum().await;

    // Sign in as an auditor and open the demo episode.
    browser.goto(&stack.url("/signin")).await.unwrap();
    snap(&browser, "01-sign-in").await;
    let (_, auditor) = token(Role::Auditor, Duration::from_secs(3600));
    sign_in(&browser, stack, &auditor).await;
    snap(&browser, "02-find-a-client").await;
    open_client(&browser, &stack.outcome.client_id).await;
    assert!(text_of(&browser, "#integrity-badge").await.contains("Hash chains intact"));
    assert!(text_of(&browser, "#timeline").await.contains("Note addendum appended"));
    snap(&browser, "03-episode").await;

    // The score chart: PHQ-9 and GAD-7 points over their severity bands.
    for chart in ["#chart-phq9", "#chart-gad7"] {
        let points = browser.find_all(Locator::Css(&format!("{chart} circle.point"))).await.unwrap();
        assert!(!points.is_empty(), "{chart} has the demo's scores");
        let bands = browser.find_all(Locator::Css(&format!("{chart} rect.band"))).await.unwrap();
        assert!(bands.len() >= 4, "{chart} shows severity bands");
    }
    browser.find(Locator::Id("scores")).await.unwrap().click().await.ok();
    snap(&browser, "04-scores").await;

    // The as-of control, before and after the addendum: the note changes.
    let note = format!("#session-{session_id}");
    let before = show_as_of(&browser, addendum_at - 1).await;
    assert!(before.contains(NOTE_TEXT) && !before.contains(ADDENDUM_TEXT), "before the addendum: {before}");
    let note_before = text_of(&browser, &note).await;
    snap(&browser, "05-as-of-before-addendum").await;
    let after = show_as_of(&browser, addendum_at).await;
    assert!(after.contains(ADDENDUM_TEXT), "after the addendum: {after}");
    let note_after = text_of(&browser, &note).await;
    assert!(!note_before.contains(ADDENDUM_TEXT) && note_after.contains(ADDENDUM_TEXT));
    browser.goto(&format!("{}{note}", stack.url("/episode"))).await.unwrap();
    snap(&browser, "06-as-of-after-addendum").await;

    // Malformed as-of: a message, not a stack trace.
    let input = browser.find(Locator::Id("as-of-input")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys("last tuesday").await.unwrap();
    browser.find(Locator::Id("as-of-submit")).await.unwrap().click().await.unwrap();
    let alert = browser.wait().for_element(Locator::Css("#as-of .notice.error")).await.unwrap().text().await.unwrap();
    assert!(alert.contains("is neither a log position"), "{alert}");

    // Ledger and caseload.
    browser.goto(&stack.url("/ledger")).await.unwrap();
    assert_eq!(text_of(&browser, "#balance").await, "$0.00");
    snap(&browser, "07-ledger").await;
    browser.goto(&stack.url("/caseload")).await.unwrap();
    assert!(text_of(&browser, "#caseload").await.contains(&stack.outcome.client_id));
    snap(&browser, "08-caseload").await;

    // An unknown client: a not-found page.
    browser.goto(&stack.url("/")).await.unwrap();
    open_client_expecting_error(&browser, &uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(text_of(&browser, "#error-title").await, "Not found");

    // Sign out; a biller sees the episode without any note text.
    browser.find(Locator::Css(".who button")).await.unwrap().click().await.unwrap();
    browser.wait().for_element(Locator::Id("token")).await.unwrap();
    let (_, biller) = token(Role::Biller, Duration::from_secs(3600));
    sign_in(&browser, stack, &biller).await;
    open_client(&browser, &stack.outcome.client_id).await;
    let sessions = text_of(&browser, "#sessions").await;
    assert!(!sessions.contains(NOTE_TEXT) && !sessions.contains(ADDENDUM_TEXT), "a biller saw note text");
    assert!(sessions.contains("[redacted: clinical_text]"));
    browser.goto(&format!("{}#sessions", stack.url("/episode"))).await.unwrap();
    snap(&browser, "09-biller-note-withheld").await;
    browser.close().await.unwrap();
}

async fn open_client_expecting_error(browser: &Client, client_id: &str) {
    browser.find(Locator::Id("client-id-input")).await.unwrap().send_keys(client_id).await.unwrap();
    browser.find(Locator::Id("open-client")).await.unwrap().click().await.unwrap();
    browser.wait().for_element(Locator::Id("error-title")).await.expect("an error page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_on_sqlite() {
    let stack = Stack::start(Backend::Sqlite).await;
    an_auditor_and_a_biller_audit_the_demo_episode(&stack).await;
    stack.stop().await;
}
