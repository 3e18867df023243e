//! Process forms: versions, visibility to active partners only, validation.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::{proposal, TestApp};

stories!(
    each_publication_is_a_new_version_with_its_own_document_id,
    only_active_partners_read_a_form,
    department_forms_belong_to_their_member,
    forms_are_validated_field_by_field,
);

fn form(label: &str) -> Value {
    json!({
        "adminNote": "Attach logs",
        "escalationInstructions": "Call the duty manager",
        "escalationContacts": [{"name": "Duty Manager", "email": "duty@acme.example"}],
        "priorities": [
            {"priority": "HIGH", "responseHours": 4, "note": "Production down"},
            {"priority": "LOW", "responseHours": 72}
        ],
        "customFields": [
            {"label": label, "section": "PROBLEM_SECTION", "type": "STRING", "required": true, "displayOrder": 2},
            {"label": "Environment", "section": "PROBLEM_SECTION", "type": "SELECT", "required": true,
             "options": ["Production", "Test"], "displayOrder": 1},
            {"label": "Customer email", "section": "CONTACT_SECTION", "type": "EMAIL", "displayOrder": 1}
        ]
    })
}

async fn each_publication_is_a_new_version_with_its_own_document_id(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let path = format!("/v1/forms/company/{}", acme.id);
    app.get(&path, &acme.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let v1 = app.put(&path, &acme.manager, form("Product version")).await;
    assert_eq!(v1.status, StatusCode::CREATED, "{:?}", v1.body);
    assert_eq!(v1.body["version"], 1);
    let labels: Vec<&str> = v1.body["customFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Customer email", "Environment", "Product version"]);
    assert!(v1.body["customFields"][0]["fieldId"].is_string());
    assert_eq!(v1.body["priorities"][0]["priority"], "LOW");

    let v2 = app.put(&path, &acme.admin, form("Firmware version")).await;
    assert_eq!(v2.body["version"], 2);
    assert_ne!(v2.body["documentId"], v1.body["documentId"]);
    let current = app.get(&path, &acme.engineer).await;
    assert_eq!(current.body, v2.body);

    for token in [&acme.engineer, &acme.auditor] {
        app.put(&path, token, form("x"))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
}

async fn only_active_partners_read_a_form(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let initech = app.member("Initech", "initech.example").await;
    app.agree(&[&acme, &globex, &initech]).await;
    let path = format!("/v1/forms/company/{}", acme.id);
    let published = app.put(&path, &acme.manager, form("Product version")).await;

    // Publishing another member's form answers like a form that does not exist.
    app.put(&path, &globex.admin, form("Hijack"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");

    let proposed = app
        .post("/v1/partnerships", &globex.manager, proposal(&acme.id))
        .await;
    app.get(&path, &globex.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let id = proposed.body["id"].as_str().unwrap();
    app.call(
        axum::http::Method::POST,
        &format!("/v1/partnerships/{id}/acceptance"),
        Some(&acme.manager),
        None,
    )
    .await;
    let seen = app.get(&path, &globex.engineer).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.body["documentId"], published.body["documentId"]);
    app.get(&path, &initech.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");

    app.call(
        axum::http::Method::POST,
        &format!("/v1/partnerships/{id}/end"),
        Some(&acme.manager),
        None,
    )
    .await;
    app.get(&path, &globex.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}

async fn department_forms_belong_to_their_member(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    app.agree(&[&acme, &globex]).await;
    let department = app
        .post(
            "/v1/departments",
            &acme.admin,
            json!({"name": "Storage", "tags": ["san"]}),
        )
        .await;
    let department_id = department.body["id"].as_str().unwrap();
    let path = format!("/v1/forms/department/{department_id}");
    app.put(&path, &globex.admin, form("x"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let published = app.put(&path, &acme.manager, form("Array serial")).await;
    assert_eq!(published.status, StatusCode::CREATED);
    assert_eq!(published.body["departmentId"], department_id);
    assert_eq!(published.body["version"], 1);
    // The company form is versioned separately.
    let company = app
        .put(
            &format!("/v1/forms/company/{}", acme.id),
            &acme.manager,
            form("Other"),
        )
        .await;
    assert_eq!(company.body["version"], 1);

    app.get(&path, &globex.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    app.partner(&globex, &acme).await;
    let seen = app.get(&path, &globex.engineer).await;
    assert_eq!(seen.body["documentId"], published.body["documentId"]);
    app.get(
        "/v1/forms/department/01a22508-a5bb-7557-b71d-fbc0588e187b",
        &globex.engineer,
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not_found");
}

async fn forms_are_validated_field_by_field(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let path = format!("/v1/forms/company/{}", acme.id);
    let mut bad = form("");
    bad["priorities"] =
        json!([{"priority": "HIGH", "responseHours": 0}, {"priority": "HIGH", "responseHours": 4}]);
    bad["escalationContacts"] = json!([{"name": "Duty", "email": "nope"}]);
    bad["customFields"][1]["options"] = json!([]);
    let response = app.put(&path, &acme.manager, bad).await;
    response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        response.fields(),
        [
            "escalationContacts[0].email",
            "priorities[0].responseHours",
            "priorities[1].priority",
            "customFields[0].label",
            "customFields[1].options"
        ]
    );
    let mut wrong_type = form("x");
    wrong_type["customFields"][0]["type"] = json!("DATE");
    app.put(&path, &acme.manager, wrong_type)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({"label": format!("f{i}"), "section": "PROBLEM_SECTION", "type": "STRING"}))
        .collect();
    let mut oversized = form("x");
    oversized["customFields"] = json!(too_many);
    let response = app.put(&path, &acme.manager, oversized).await;
    assert_eq!(response.fields(), ["customFields"]);
    app.get(&path, &acme.manager)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}
