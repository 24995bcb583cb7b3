//! A guest that floods stderr: its writes keep succeeding past the harness's cap, the log keeps
//! the start with a `[truncated: ...]` marker, and one request costs a bounded number of log
//! lines. Both worlds (the `stderr-flood` op of the probe guests).

use e2e::{body_text, capture_logs, component, enc, get, kv, wasm};
use harness::guest_log::MAX_LOG_LINES;
use harness::{Harness, ModuleConfig};

/// 1 MiB of stderr in 1 KiB lines, 16 times the harness's 64 KiB cap.
const FLOOD: &str = "stderr-flood&lines=1024";

async fn flood(module: ModuleConfig, query: &str) {
    let (logs, _guard) = capture_logs();
    let h = Harness::builder().module(module).build().unwrap();
    let resp = h.handle(get(&format!("/g?{query}"))).await;
    assert_eq!(resp.status(), 200, "{}", body_text(&resp));
    assert_eq!(body_text(&resp), "still writing");
    let logs = logs.text();
    let guest_lines = logs
        .lines()
        .filter(|l| l.contains("harness::guest_stderr"))
        .count();
    assert!(
        guest_lines <= MAX_LOG_LINES + 2,
        "{guest_lines} guest log lines for one request"
    );
    assert!(logs.contains("more lines"), "a summary line in\n{logs}");
    assert!(
        logs.contains("[truncated: "),
        "the cut is marked in\n{logs}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn module_stderr_past_the_cap_is_cut_not_failed() {
    flood(
        ModuleConfig::new("/g", wasm("cgi-probe")),
        &format!("mode={FLOOD}"),
    )
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn component_stderr_past_the_cap_is_cut_not_failed() {
    flood(
        ModuleConfig::new("/g", component("component-probe")),
        &format!("op={FLOOD}"),
    )
    .await;
}

/// A request that makes 200 refused calls writes the first few refusals and one summary line.
async fn denials(module: ModuleConfig, query: &str, answer_key: &str) {
    let (logs, _guard) = capture_logs();
    let h = Harness::builder().module(module).build().unwrap();
    let resp = h.handle(get(&format!("/g?{query}"))).await;
    assert_eq!(resp.status(), 200, "{}", body_text(&resp));
    assert_eq!(kv(&body_text(&resp), answer_key).as_deref(), Some("200"));
    // The summary is written when the request's state is dropped, which for a component is
    // when its task ends, just after the response: wait for it, boundedly.
    let summary = "more outbound warnings of this request were not logged";
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !logs.text().contains(summary) && std::time::Instant::now() < until {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let logs = logs.text();
    let refusals = logs.matches("outbound call denied").count();
    assert!(
        (1..=10).contains(&refusals),
        "{refusals} refusal lines for one request"
    );
    assert!(logs.contains(summary), "{logs}");
}

#[tokio::test(flavor = "current_thread")]
async fn module_denial_flood_is_summarised() {
    let url = enc("http://denied.example/");
    denials(
        ModuleConfig::new("/g", wasm("outbound-probe")),
        &format!("op=repeat&times=200&url={url}"),
        "denied",
    )
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn component_denial_flood_is_summarised() {
    let url = enc("http://denied.example/");
    denials(
        ModuleConfig::new("/g", component("component-probe")),
        &format!("op=repeat&times=200&url={url}"),
        "denied",
    )
    .await;
}
