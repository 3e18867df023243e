//! What the binary's tests share: a plain HTTP/1.1 client for the running server.

use std::io::{Read, Write};
use std::net::TcpStream;

/// One request, `Connection: close`; returns the whole raw response.
pub fn http(address: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// The JSON body of a raw response.
#[allow(dead_code)]
pub fn json_body(response: &str) -> serde_json::Value {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}
