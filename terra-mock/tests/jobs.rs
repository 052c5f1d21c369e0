//! Jobs through the state machine of reference §4.3 on a manual clock.

mod common;

use std::time::Duration;

use common::{Api, normalize};
use serde_json::{Value, json};
use terra_mock::{JobFailure, JobTiming, ManualClock, TerraMock};
use terra_types::JobStatus;

const P3D: &str = r#"{"parameter":{"output_mesh":true,"generate_obj":true,"generate_b3dm":true,"output_pointcloud":true,"generate_las":true}}"#;

/// 10 s queued, 20 s preparing, 100 s executing, 10 s result processing.
fn timing() -> JobTiming {
    JobTiming {
        waiting: 10.0,
        preparing: 20.0,
        executing: 100.0,
        executing_per_input: 0.0,
        result_processing: 10.0,
    }
}

fn mock() -> TerraMock {
    TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .timing(timing())
        .build()
        .unwrap()
}

async fn job(api: &Api<'_>, id: &str) -> Value {
    api.ok("GET", &format!("/jobs/{id}"), None).await
}

#[tokio::test]
async fn a_job_moves_through_every_state_and_produces_outputs() {
    let m = mock();
    let api = Api::new(&m);
    let rid = api.resource_with_images(12).await;
    let jid = api.job("model").await;
    let started = api.start(&jid, &rid, 15, P3D).await;
    assert_eq!(started.code(), 0, "{}", started.body);

    let j = job(&api, &jid).await;
    assert_eq!(
        (
            j["status"].as_i64(),
            j["type"].as_i64(),
            j["percentage"].as_f64()
        ),
        (Some(1), Some(15), Some(0.0))
    );
    assert_eq!(j["remainSeconds"], 140);
    assert_eq!(j["parameters"], P3D, "the submitted string is echoed");
    assert_eq!(j["originResourceUuid"], rid.as_str());
    assert!(j.get("outputResourceUuid").is_none() && j.get("completedAt").is_none());

    // (seconds to advance, status then, remaining seconds then)
    let expect = [
        (10, 2, 130),
        (20, 3, 110),
        (50, 3, 60),
        (50, 4, 10),
        (10, 6, 0),
    ];
    let mut last_pct = 0.0;
    for (secs, status, remain) in expect {
        m.advance(Duration::from_secs(secs));
        let j = job(&api, &jid).await;
        assert_eq!(j["status"], status, "after +{secs}s: {j}");
        assert_eq!(j["remainSeconds"], remain, "after +{secs}s: {j}");
        let pct = j["percentage"].as_f64().unwrap();
        assert!(pct >= last_pct, "progress never goes back");
        last_pct = pct;
        if remain == 60 {
            // 80 of 140 seconds gone.
            assert!((pct - 80.0 / 140.0).abs() < 1e-3, "{pct}");
            insta::assert_json_snapshot!("job_executing", normalize(&j));
        }
        if status >= 4 {
            assert!(
                j["outputResourceUuid"].is_string(),
                "output exists from status 4: {j}"
            );
        }
    }
    let done = job(&api, &jid).await;
    assert_eq!(
        (
            done["percentage"].as_f64(),
            done["remainSeconds"].as_i64(),
            done["message"].as_str()
        ),
        (Some(1.0), Some(0), Some("success"))
    );
    assert!(done["completedAt"].is_string());
    insta::assert_json_snapshot!("job_finished", normalize(&done));

    // The output resource: type job_output, named after the job, with the asked-for files.
    let out = done["outputResourceUuid"].as_str().unwrap();
    let detail = api.ok("GET", &format!("/resources/{out}"), None).await;
    assert_eq!(detail["summary"]["type"], "job_output");
    assert_eq!(detail["summary"]["name"], format!("output of job: {jid}"));
    assert_eq!(detail["outputJobUuids"][0], jid.as_str());
    let files = api
        .ok(
            "GET",
            &format!("/files?resourceUuid={out}&rows=100&orderAsc=true"),
            None,
        )
        .await;
    let names: Vec<&str> = files["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for want in [
        "images/survey/image_list.json",
        "models/mesh/obj/Block.obj",
        "models/mesh/b3dm/tileset.json",
        "models/pc/las/cloud.las",
        "models/pc/pnts/cloud.pnts",
        "report/report.json",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(
        !names.iter().any(|n| n.contains("osgb")),
        "only what the flags ask for"
    );
    let listed = m.resources(m.app_key());
    assert_eq!(
        listed
            .iter()
            .filter(|r| r.resource_type == terra_types::ResourceType::JobOutput)
            .count(),
        1
    );

    // Lists carry the documented subset; filters by type and resources work.
    let list = api
        .ok(
            "GET",
            &format!("/jobs?type=15&originResourceUuid={rid}&outputResourceUuid={out}"),
            None,
        )
        .await;
    assert_eq!(list["total"], 1);
    let item = &list["list"][0];
    assert!(
        item["startedAt"].is_string()
            && item["completedAt"].is_string()
            && item.get("percentage").is_none(),
        "{item}"
    );
    assert_eq!(api.ok("GET", "/jobs?type=14", None).await["total"], 0);
}

#[tokio::test]
async fn one_big_step_applies_every_transition_in_order() {
    let m = mock();
    let api = Api::new(&m);
    let rid = api.resource_with_images(10).await;
    let jid = api.job("j").await;
    assert_eq!(
        api.start(&jid, &rid, 14, r#"{"parameter":{"map_mode":1}}"#)
            .await
            .code(),
        0
    );
    m.advance(Duration::from_secs(10_000));
    let j = job(&api, &jid).await;
    assert_eq!(j["status"], 6);
    let out = j["outputResourceUuid"].as_str().unwrap();
    let files = api
        .ok("GET", &format!("/files?resourceUuid={out}&rows=100"), None)
        .await;
    let names: Vec<&str> = files["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"map/result.tif") && names.contains(&"map/dsm.tif"),
        "{names:?}"
    );
}

#[tokio::test]
async fn stop_is_allowed_only_before_result_processing() {
    let m = mock();
    let api = Api::new(&m);
    let (r1, r2) = (
        api.resource_with_images(10).await,
        api.resource_with_images(10).await,
    );
    let (a, b) = (api.job("a").await, api.job("b").await);
    let (code, msg) = api.err("POST", &format!("/jobs/{a}/stop"), None).await;
    assert_eq!(code, 102003, "not started: {msg}");
    api.start(&a, &r1, 15, P3D).await;
    api.start(&b, &r2, 15, P3D).await;
    m.advance(Duration::from_secs(60));
    let stopped = api.ok("POST", &format!("/jobs/{a}/stop"), None).await;
    assert_eq!(stopped["status"], 5);
    m.advance(Duration::from_secs(1000));
    let a_now = job(&api, &a).await;
    assert_eq!(a_now["status"], 5, "a stopped job stays stopped");
    assert!(a_now.get("outputResourceUuid").is_none());
    assert!(
        a_now["percentage"].as_f64().unwrap() < 0.5,
        "progress froze at the stop"
    );
    assert_eq!(job(&api, &b).await["status"], 6);
    let (code, _) = api.err("POST", &format!("/jobs/{b}/stop"), None).await;
    assert_eq!(code, 102003);
    let (code, _) = api.err("POST", &format!("/jobs/{a}/stop"), None).await;
    assert_eq!(code, 102003);
    // Status 4 cannot be stopped either.
    let (r3, c) = (api.resource_with_images(10).await, api.job("c").await);
    api.start(&c, &r3, 15, P3D).await;
    m.advance(Duration::from_secs(135));
    assert_eq!(job(&api, &c).await["status"], 4);
    let (code, msg) = api.err("POST", &format!("/jobs/{c}/stop"), None).await;
    assert_eq!(code, 102003);
    assert!(msg.contains("status < 4"), "{msg}");
    // Finished and stopped jobs can be deleted.
    api.ok("DELETE", &format!("/jobs/{a}"), None).await;
    api.ok("DELETE", &format!("/jobs/{b}"), None).await;
}

#[tokio::test]
async fn injected_failures_end_in_7_with_a_message() {
    let m = mock();
    let api = Api::new(&m);
    let rid = api.resource_with_images(10).await;
    let jid = api.job("doomed").await;
    m.fail_next_job(JobFailure::during_execution(
        "Aerotriangulation failed: too few tie points between images",
    ));
    api.start(&jid, &rid, 15, P3D).await;
    m.advance(Duration::from_secs(129));
    assert_eq!(job(&api, &jid).await["status"], 3);
    m.advance(Duration::from_secs(1));
    let j = job(&api, &jid).await;
    assert_eq!(j["status"], JobStatus::Failed.code());
    assert_eq!(
        j["message"],
        "Aerotriangulation failed: too few tie points between images"
    );
    assert!(j["completedAt"].is_string() && j.get("outputResourceUuid").is_none());
    assert_eq!(m.stats(m.app_key()).output_resources, 0);

    // A running job can also be failed on demand.
    let (r2, j2) = (api.resource_with_images(10).await, api.job("j2").await);
    api.start(&j2, &r2, 15, P3D).await;
    assert!(m.fail_job(m.app_key(), &j2, "disk full"));
    assert_eq!(job(&api, &j2).await["status"], 7);
    assert!(!m.fail_job(m.app_key(), &j2, "again"), "only running jobs");
}

#[tokio::test]
async fn lidar_jobs_take_the_whole_mission_folder() {
    let m = mock();
    let api = Api::new(&m);
    let token: terra_types::StsToken =
        serde_json::from_value(api.ok("POST", "/store/obtain_token", None).await).unwrap();
    let rid = api
        .ok(
            "POST",
            "/resources",
            Some(json!({"name": "mission", "type": "map"})),
        )
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut files = Vec::new();
    for name in ["DJI_001.LDR", "DJI_001.IMU", "DJI_001.RTK", "DJI_001.CLC"] {
        let meta = m
            .put_object(&token, &format!("mission/{name}"), name.as_bytes())
            .unwrap();
        files.push(
            json!({"name": format!("mission/{name}"), "etag": meta.etag, "checksum": meta.etag}),
        );
    }
    api.ok(
        "POST",
        "/store/upload_callback",
        Some(json!({"callbackParam": token.callback_param, "resourceUUID": rid, "files": files})),
    )
    .await;
    let jid = api.job("lidar").await;
    let r = api
        .start(
            &jid,
            &rid,
            13,
            r#"{"parameter":{"generate_dem":true,"dem_resolution":0.5}}"#,
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    m.advance(Duration::from_secs(10_000));
    let out = job(&api, &jid).await["outputResourceUuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let names: Vec<String> = api
        .ok("GET", &format!("/files?resourceUuid={out}&rows=100"), None)
        .await["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        names.contains(&"lidars/terra_las/cloud_merged.las".to_owned())
            && names.contains(&"lidars/terra_dem/dem.tif".to_owned()),
        "{names:?}"
    );
}
