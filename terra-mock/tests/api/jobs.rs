//! Jobs: create, list, update, copy, delete, start validation, limits and quota.

use super::*;

#[tokio::test]
async fn jobs_create_list_update_copy_delete() {
    let m = mock();
    let api = Api::new(&m);
    let created = api
        .call("POST", "/jobs", Some(json!({"name": "survey"})))
        .await;
    let jid = created.data()["uuid"].as_str().unwrap().to_owned();
    let job = api.ok("GET", &format!("/jobs/{jid}"), None).await;
    assert_eq!(
        (job["status"].as_i64(), job["type"].as_i64()),
        (Some(0), Some(0))
    );
    for absent in [
        "startedAt",
        "completedAt",
        "message",
        "originResourceUuid",
        "outputResourceUuid",
        "parameters",
        "percentage",
        "pixels",
        "remainSeconds",
    ] {
        assert!(
            job.get(absent).is_none(),
            "{absent} must be omitted before start: {job}"
        );
    }
    insta::assert_json_snapshot!("job_before_start", normalize(&job));

    let (code, msg) = api.err("POST", "/jobs", Some(json!({"meta": "x"}))).await;
    assert_eq!(code, 102001);
    assert!(msg.contains("name"), "{msg}");

    let upd = api
        .ok(
            "PUT",
            &format!("/jobs/{jid}"),
            Some(json!({"name": "survey 2"})),
        )
        .await;
    assert_eq!(upd["name"], "survey 2");
    let copy = api
        .ok("POST", &format!("/jobs/{jid}/copy"), Some(json!({})))
        .await;
    assert_eq!(
        (copy["name"].as_str(), copy["status"].as_i64()),
        (Some("copy of survey 2"), Some(0))
    );

    let list = api.ok("GET", "/jobs?rows=1", None).await;
    assert_eq!(
        (
            list["total"].as_u64(),
            list["list"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    api.ok("DELETE", &format!("/jobs/{jid}"), None).await;
    let (code, _) = api.err("GET", &format!("/jobs/{jid}"), None).await;
    assert_eq!(code, 102114);
    for (method, path) in [
        ("PUT", "/jobs/{}"),
        ("DELETE", "/jobs/{}"),
        ("POST", "/jobs/{}/stop"),
        ("POST", "/jobs/{}/copy"),
    ] {
        let (code, _) = api
            .err(method, &path.replace("{}", &jid), Some(json!({})))
            .await;
        assert_eq!(code, 102114, "{method} {path}");
    }
}

#[tokio::test]
async fn start_validates_everything_the_docs_rule_out() {
    let m = mock();
    let api = Api::new(&m);
    let rid = api.resource_with_images(10).await;
    let nine = api.resource_with_images(9).await;
    let jid = api.job("j").await;
    let r = api
        .start("6d1f3c2e-0000-4000-8000-000000000002", &rid, 15, P3D)
        .await;
    assert_eq!(r.code(), 102114);
    let r = api
        .start(&jid, "0b8b1d26-3c2c-4e0f-9a57-6e9f0d3c2a11", 15, P3D)
        .await;
    assert_eq!(r.code(), 102002);
    let r = api.start(&jid, &rid, 16, P3D).await;
    assert_eq!(r.code(), 102001);
    assert!(r.msg().contains("type"), "{}", r.msg());
    let r = api
        .start(&jid, &rid, 15, r#"{"parameter":{"model_simplify":3}}"#)
        .await;
    assert_eq!(r.code(), 102001);
    assert!(r.msg().contains("parameter.model_simplify"), "{}", r.msg());
    // parameters sent as an object instead of a string: the classic error.
    let r = api
        .call(
            "POST",
            &format!("/jobs/{jid}/start"),
            Some(json!({"type": 15, "resourceUuid": rid, "parameters": {"parameter": {}}})),
        )
        .await;
    assert_eq!(r.code(), 102001);
    assert!(r.msg().contains("parameters"), "{}", r.msg());
    let r = api
        .start(&jid, &nine, 14, r#"{"parameter":{"map_mode":1}}"#)
        .await;
    assert_eq!(r.code(), 102001);
    assert!(r.msg().contains("at least 10"), "{}", r.msg());
    let r = api
        .start(
            &jid,
            &rid,
            13,
            r#"{"parameter":{"quality_level":1,"sample_distance":0.2}}"#,
        )
        .await;
    assert_eq!(r.code(), 102001);
    assert!(r.msg().contains("sample_distance"), "{}", r.msg());

    let r = api.start(&jid, &rid, 15, P3D).await;
    assert_eq!(r.code(), 0, "{}", r.body);
    assert_eq!(r.data()["status"], 1);
    let r = api.start(&jid, &rid, 15, P3D).await;
    assert_eq!(r.code(), 102003, "start twice");
    // The input resource is frozen once a job on it started.
    let detail = api.ok("GET", &format!("/resources/{rid}"), None).await;
    assert_eq!(detail["summary"]["revisable"], false);
    assert_eq!(detail["inputJobUuids"][0], jid.as_str());
    let (code, _) = api
        .err(
            "PUT",
            &format!("/resources/{rid}"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(code, 102003);
    let (code, _) = api.err("DELETE", &format!("/resources/{rid}"), None).await;
    assert_eq!(code, 102003);
    let (code, _) = api.err("DELETE", &format!("/jobs/{jid}"), None).await;
    assert_eq!(code, 102003);
}

#[tokio::test]
async fn running_job_limit_and_quota() {
    let m = TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .max_running_jobs(1)
        .job_quota(2)
        .build()
        .unwrap();
    let api = Api::new(&m);
    let rid = api.resource_with_images(10).await;
    let rid2 = api.resource_with_images(10).await;
    let rid3 = api.resource_with_images(10).await;
    let (a, b, c) = (api.job("a").await, api.job("b").await, api.job("c").await);
    assert_eq!(api.start(&a, &rid, 15, P3D).await.code(), 0);
    let r = api.start(&b, &rid2, 15, P3D).await;
    assert_eq!(r.code(), 801, "{}", r.body);
    m.advance(Duration::from_secs(3600));
    assert_eq!(api.start(&b, &rid2, 15, P3D).await.code(), 0);
    m.advance(Duration::from_secs(3600));
    let r = api.start(&c, &rid3, 15, P3D).await;
    assert_eq!(r.code(), 102116, "{}", r.body);
    assert_eq!(m.stats(m.app_key()).job_starts, 2);
}
