//! The auditor's pages in headless Chromium: the timeline's filters and paging, the diff across
//! an addendum and a void, the report downloaded, the print stylesheet applied; and screenshots of
//! the main pages at 1280 and 420 px wide (target/console-screenshots/), where at 420 px the page
//! itself never scrolls sideways (tables scroll in their own box).

use std::time::Duration;

use carelog_auth::Role;
use carelog_blackbox::Backend;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::browser::{browser, driver, open_client, sign_in, snap, text_of};
use crate::support::{ADDENDUM_TEXT, Stack, VOID_REASON, token};

/// A Chrome DevTools command through chromedriver (`goog/cdp/execute`): emulating print media
/// and a device width.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"cmd": self.cmd, "params": self.params}).to_string()))
    }
}

async fn cdp(browser: &Client, cmd: &'static str, params: Value) {
    browser.issue_cmd(Cdp { cmd, params }).await.unwrap_or_else(|e| panic!("{cmd}: {e}"));
}

async fn viewport(browser: &Client, width: u32) {
    let params = json!({"width": width, "height": 1400, "deviceScaleFactor": 1, "mobile": width < 600});
    cdp(browser, "Emulation.setDeviceMetricsOverride", params).await;
}

async fn script(browser: &Client, js: &str) -> Value {
    browser.execute(js, Vec::new()).await.unwrap_or_else(|e| panic!("{js}: {e}"))
}

async fn style(browser: &Client, css: &str, property: &str) -> String {
    let js = format!("return getComputedStyle(document.querySelector({css:?})).getPropertyValue({property:?})");
    script(browser, &js).await.as_str().unwrap_or_default().to_owned()
}

/// The timeline rows' positions (first cell).
async fn positions(browser: &Client) -> Vec<u64> {
    let js =
        "return [...document.querySelectorAll('table.timeline tbody tr td:first-child')].map(td => td.textContent)";
    let cells = script(browser, js).await;
    cells.as_array().unwrap().iter().map(|c| c.as_str().unwrap().parse().unwrap()).collect()
}

async fn every_assessment_is_on_the_charts(browser: &Client, stack: &Stack) {
    let administered = stack.outcome.episode.assessments.len();
    assert!(administered > 0, "the demo administers questionnaires");
    assert_eq!(browser.find_all(Locator::Css("svg.chart circle.point")).await.unwrap().len(), administered);
    assert_eq!(browser.find_all(Locator::Css("#assessments tbody tr")).await.unwrap().len(), administered);
}

async fn filters_paging_and_a_hostile_date(browser: &Client, stack: &Stack) {
    browser.goto(&stack.url("/timeline")).await.unwrap();
    browser.find(Locator::Css("#type option[value='NoteAddendumAppended']")).await.unwrap().click().await.unwrap();
    browser.find(Locator::Id("apply-filters")).await.unwrap().click().await.unwrap();
    let chosen = "//select[@id='type']/option[@selected][@value='NoteAddendumAppended']";
    browser.wait().for_element(Locator::XPath(chosen)).await.expect("the filtered page");
    assert_eq!(positions(browser).await.len(), 1);
    assert!(text_of(browser, "table.timeline").await.contains("Note addendum appended"));
    snap(browser, "10-timeline-filtered").await;

    browser.goto(&stack.url("/timeline?per=25")).await.unwrap();
    let first = positions(browser).await;
    assert_eq!(first.len(), 25);
    browser.find(Locator::Id("next-page")).await.unwrap().click().await.unwrap();
    let expected = format!("after log position {}", first[24]);
    browser
        .wait()
        .for_element(Locator::XPath(&format!("//p[@id='page-info'][contains(., '{expected}')]")))
        .await
        .expect("the second page");
    let second = positions(browser).await;
    assert!(!second.is_empty() && second[0] > first[24], "{second:?} follows {first:?}");

    browser.goto(&stack.url("/timeline?recorded_from=-5000-01-01")).await.unwrap();
    assert!(text_of(browser, ".notice.error").await.contains("recorded from:"), "a message, not a failure");
}

async fn the_diff_across_the_addendum_and_the_void(browser: &Client, stack: &Stack, from: u64, to: u64) {
    browser.goto(&stack.url("/diff")).await.unwrap();
    browser.find(Locator::Id("diff-from")).await.unwrap().send_keys(&from.to_string()).await.unwrap();
    browser.find(Locator::Id("diff-to")).await.unwrap().send_keys(&to.to_string()).await.unwrap();
    browser.find(Locator::Id("compare")).await.unwrap().click().await.unwrap();
    browser.wait().for_element(Locator::Id("diff-changes")).await.expect("the diff");
    let changes = text_of(browser, "#diff-changes").await;
    assert!(changes.contains(ADDENDUM_TEXT) && changes.contains("voided"), "{changes}");
    assert!(text_of(browser, "#diff-events").await.contains(VOID_REASON));
    snap(browser, "11-diff").await;
}

async fn the_report_downloads_and_prints(browser: &Client, stack: &Stack) {
    browser.goto(&stack.url("/report")).await.unwrap();
    let js = "const done = arguments[arguments.length - 1];
              fetch('/report.csv').then(async r => done([r.status, r.headers.get('content-disposition'), await r.text()]));";
    let reply = browser.execute_async(js, Vec::new()).await.unwrap();
    assert_eq!(reply[0], 200);
    assert!(reply[1].as_str().unwrap().starts_with("attachment;"), "{reply}");
    let csv = reply[2].as_str().unwrap();
    assert!(csv.starts_with("section,position,") && csv.contains(",NoteAddendumAppended,"), "{csv}");

    // On screen the report has its buttons; printed, only the report, each part on a new page.
    assert_ne!(style(browser, ".no-print", "display").await, "none");
    cdp(browser, "Emulation.setEmulatedMedia", json!({"media": "print"})).await;
    assert_eq!(style(browser, ".no-print", "display").await, "none");
    assert_eq!(style(browser, "#report-timeline", "break-before").await, "page");
    assert_eq!(style(browser, "thead", "display").await, "table-header-group");
    snap(browser, "12-report-printed").await;
    browser.goto(&stack.url("/episode")).await.unwrap();
    for hidden in ["header", "footer", "form.as-of"] {
        assert_eq!(style(browser, hidden, "display").await, "none", "{hidden} printed");
    }
    assert_ne!(style(browser, "#as-of-shown", "display").await, "none", "the point shown is printed");
    cdp(browser, "Emulation.setEmulatedMedia", json!({"media": ""})).await;
    assert_ne!(style(browser, "header", "display").await, "none");
}

async fn screenshots_at_desktop_and_phone_widths(browser: &Client, stack: &Stack, from: u64, to: u64) {
    let diff = format!("/diff?from={from}&to={to}");
    let pages = [
        ("episode", "/episode"),
        ("timeline", "/timeline"),
        ("diff", diff.as_str()),
        ("disclosures", "/disclosures"),
        ("ledger", "/ledger"),
        ("report", "/report"),
    ];
    for width in [1280, 420] {
        viewport(browser, width).await;
        for (name, path) in pages {
            browser.goto(&stack.url(path)).await.unwrap();
            let widths = script(browser, "return [document.documentElement.scrollWidth, window.innerWidth]").await;
            let (page, window) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
            assert!(page <= window, "{path} at {width} px scrolls sideways: {page} > {window}");
            snap(browser, &format!("{width}-{name}")).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auditors_pages_in_a_browser_on_sqlite() {
    let stack = Stack::start(Backend::Sqlite).await;
    if let Some(driver) = driver().await {
        let (addendum, _) = stack.addendum().await;
        let void = stack.void_the_claim().await;
        let browser = browser(&driver).await;
        let (_, auditor) = token(Role::Auditor, Duration::from_secs(3600));
        sign_in(&browser, &stack, &auditor).await;
        open_client(&browser, &stack.outcome.client_id).await;
        every_assessment_is_on_the_charts(&browser, &stack).await;
        filters_paging_and_a_hostile_date(&browser, &stack).await;
        the_diff_across_the_addendum_and_the_void(&browser, &stack, addendum - 1, void).await;
        the_report_downloads_and_prints(&browser, &stack).await;
        screenshots_at_desktop_and_phone_widths(&browser, &stack, addendum - 1, void).await;
        browser.close().await.unwrap();
    }
    stack.stop().await;
}
