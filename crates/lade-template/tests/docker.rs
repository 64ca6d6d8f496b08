//! Docker's documented `--format` examples ("Format command and log output",
//! `docker images`, `docker inspect`) and rows from docker/cli's own tests
//! (`templates/templates_test.go`, `cli/command/formatter/*_test.go`).

// Helpers outside #[test] functions unwrap too: a failure names the case.
#![allow(clippy::unwrap_used)]

use lade_template::{MissingKey, Mode, Template, TemplateError};
use rstest::rstest;
use serde_json::{Value, json};

const IMAGE_HEADERS: [(&str, &str); 6] = [
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("Size", "SIZE"),
];

/// The three images of docker/cli's `TestImageContextWrite`.
fn images() -> Vec<Value> {
    vec![
        json!({"ID": "imageID1", "Repository": "image", "Tag": "tag1",
               "Digest": "sha256:cbbf2f9a99b47fc460d422812b6a5adff7dfee951d8fa2e4a98caa0382cfbdbf",
               "CreatedSince": "24 hours ago", "Size": "0B"}),
        json!({"ID": "imageID2", "Repository": "image", "Tag": "tag2", "Digest": "<none>",
               "CreatedSince": "N/A", "Size": "0B"}),
        json!({"ID": "imageID3", "Repository": "<none>", "Tag": "<none>", "Digest": "<none>",
               "CreatedSince": "24 hours ago", "Size": "0B"}),
    ]
}

fn render(format: &str, items: &[Value]) -> Result<String, TemplateError> {
    let t = Template::parse(format, IMAGE_HEADERS)?;
    let mut out = Vec::new();
    t.render(items, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

/// A container as `docker inspect` shows it, cut down to what the examples use.
fn container() -> Value {
    json!({
        "Name": "/Web_App",
        "Args": ["-c", "sleep 10"],
        "Image": "ubuntu:latest",
        "Mounts": [{"Type": "bind", "Source": "/tmp/<src>", "Destination": "/data", "RW": true}],
        "Config": {
            "Env": ["PATH=/usr/bin", "A=1"],
            "Labels": {"z.last": "1", "com.example.vendor": "ACME & Co", "a.first": "<x>"},
            "Image": "ubuntu"
        },
        "NetworkSettings": {
            "Networks": {"bridge": {"IPAddress": "172.17.0.2"}, "mynet": {"IPAddress": "10.0.0.5"}},
            "Ports": {"22/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8022"}]}
        },
        "Options": {"com.docker.network.driver.mtu": "1500"},
        "State": {"Status": "running", "ExitCode": 0, "Health": null}
    })
}

/// An image as `docker image inspect` shows it.
fn image() -> Value {
    json!({
        "Id": "sha256:a24bb4013296f61e89ba57005a7b3e52274d8edd3ae2077d04395f806b63d83e",
        "RepoTags": ["alpine:3.19", "alpine:latest"],
        "RepoDigests": ["alpine@sha256:c5b1261d6d3e43071626931fc004f70149baeba2c8ec672bd4f27761f8e1ad6b"],
        "Os": "linux",
        "Architecture": "amd64",
        "Size": 7376306,
        "Config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh"], "Labels": null}
    })
}

fn inspect(format: &str, item: &Value) -> Result<String, TemplateError> {
    let t = Template::parse_inspect(format)?;
    let mut out = Vec::new();
    t.render(std::slice::from_ref(item), &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

// "Format command and log output": one row per documented function.
#[rstest]
#[case(r#"{{join .Args " , "}}"#, "-c , sleep 10\n")]
#[case("{{json .Mounts}}", r#"[{"Destination":"/data","RW":true,"Source":"/tmp/<src>","Type":"bind"}]"#.to_owned() + "\n")]
#[case("{{lower .Name}}", "/web_app\n")]
#[case(r#"{{split .Image ":"}}"#, "[ubuntu latest]\n")]
#[case("{{title .Name}}", "/Web_App\n")]
#[case("{{title \"hello docker-world\"}}", "Hello Docker-World\n")]
#[case("{{upper .Name}}", "/WEB_APP\n")]
#[case(
    "{{range .NetworkSettings.Networks}}{{println .IPAddress}}{{end}}",
    "172.17.0.2\n10.0.0.5\n\n"
)]
#[case(r#"{{split (join .Args "/") "/"}}"#, "[-c sleep 10]\n")]
#[case("{{json .Config.Labels}}", r#"{"a.first":"<x>","com.example.vendor":"ACME & Co","z.last":"1"}"#.to_owned() + "\n")]
#[case("{{.Config.Env}}", "[PATH=/usr/bin A=1]\n")]
#[case(
    "{{.Config.Labels}}",
    "map[a.first:<x> com.example.vendor:ACME & Co z.last:1]\n"
)]
#[case(r#"{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}"#, " 22/tcp -> 8022 \n")]
#[case(r#"{{index .Options "com.docker.network.driver.mtu"}}"#, "1500\n")]
#[case("{{.State.Status}} {{.State.ExitCode}}", "running 0\n")]
#[case(
    "{{if eq 0 .State.ExitCode}}{{.Name}} exited cleanly{{end}}",
    "/Web_App exited cleanly\n"
)]
#[case("{{.State.Health}}", "<nil>\n")]
#[case(
    "{{range $k, $v := .Config.Labels -}} {{ $k }}={{ $v }} {{ end -}}",
    "a.first=<x> com.example.vendor=ACME & Co z.last=1 \n"
)]
fn documented_functions(#[case] format: &str, #[case] want: String) {
    assert_eq!(inspect(format, &container()).unwrap(), want);
}

// `docker image inspect --format ...` examples.
#[rstest]
#[case("{{.Os}}/{{.Architecture}}", "linux/amd64\n")]
#[case(
    "{{index .RepoDigests 0}}",
    "alpine@sha256:c5b1261d6d3e43071626931fc004f70149baeba2c8ec672bd4f27761f8e1ad6b\n"
)]
#[case("{{range .RepoTags}}{{.}} {{end}}", "alpine:3.19 alpine:latest \n")]
#[case("{{json .Config.Labels}}", "null\n")]
#[case("{{.Size}}", "7376306\n")]
#[case("{{json .Config.Cmd}}", "[\"/bin/sh\"]\n")]
#[case("{{len .RepoTags}}", "2\n")]
#[case("{{printf \"%.12s\" (index (split .Id \":\") 1)}}", "a24bb4013296\n")]
fn image_inspect_examples(#[case] format: &str, #[case] want: &str) {
    assert_eq!(inspect(format, &image()).unwrap(), want);
}

#[test]
fn inspect_fails_on_a_missing_key_as_docker_does() {
    let err = inspect("{{.Foo}}", &image()).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"template parsing error: template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo""#
    );
    // A key that is there but null is not missing.
    assert_eq!(inspect("{{.Config.Labels}}", &image()).unwrap(), "<nil>\n");
}

#[test]
fn inspect_json_prints_one_array() {
    let t = Template::parse_inspect("json").unwrap();
    let mut out = Vec::new();
    t.render(&[json!({"b": "<x>", "a": 1}), json!({"c": null})], &mut out)
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "[{\"a\":1,\"b\":\"\\u003cx\\u003e\"},{\"c\":null}]\n"
    );
}

#[test]
fn inspect_writes_the_items_that_worked_then_fails() {
    let t = Template::parse_inspect("{{.Name}}").unwrap();
    let mut out = Vec::new();
    let err = t
        .render(
            &[json!({"Name": "a"}), json!({}), json!({"Name": "c"})],
            &mut out,
        )
        .unwrap_err();
    assert_eq!(String::from_utf8(out).unwrap(), "a\nc\n");
    assert_eq!(
        err.to_string(),
        r#"template parsing error: template: :1:2: executing "" at <.Name>: map has no entry for key "Name""#
    );
}

#[test]
fn inspect_with_no_output_prints_an_empty_line() {
    let t = Template::parse_inspect("{{.Name}}").unwrap();
    let mut out = Vec::new();
    t.render(&[], &mut out).unwrap();
    assert_eq!(out, b"\n");
}

// docker/cli `TestImageContextWrite` (current tabwriter: minwidth 10, padding 3).
#[rstest]
#[case(
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}",
    "REPOSITORY   TAG       DIGEST                                                                    IMAGE ID   CREATED        SIZE\n\
     image        tag1      sha256:cbbf2f9a99b47fc460d422812b6a5adff7dfee951d8fa2e4a98caa0382cfbdbf   imageID1   24 hours ago   0B\n\
     image        tag2      <none>                                                                    imageID2   N/A            0B\n\
     <none>       <none>    <none>                                                                    imageID3   24 hours ago   0B\n"
)]
#[case("table {{.Repository}}", "REPOSITORY\nimage\nimage\n<none>\n")]
#[case(
    "table {{.Repository}}\t{{.Digest}}",
    "REPOSITORY   DIGEST\n\
     image        sha256:cbbf2f9a99b47fc460d422812b6a5adff7dfee951d8fa2e4a98caa0382cfbdbf\n\
     image        <none>\n\
     <none>       <none>\n"
)]
#[case(
    "table {{.Digest}}",
    "DIGEST\nsha256:cbbf2f9a99b47fc460d422812b6a5adff7dfee951d8fa2e4a98caa0382cfbdbf\n<none>\n<none>\n"
)]
#[case("{{.Repository}}", "image\nimage\n<none>\n")]
// The documented `docker images --format` examples, `\t` typed as two characters.
#[case(
    r"table {{.ID}}\t{{.Repository}}\t{{.Tag}}",
    "IMAGE ID   REPOSITORY   TAG\n\
     imageID1   image        tag1\n\
     imageID2   image        tag2\n\
     imageID3   <none>       <none>\n"
)]
#[case(
    "{{.ID}}: {{.Repository}}",
    "imageID1: image\nimageID2: image\nimageID3: <none>\n"
)]
#[case(
    r"{{.ID}}\t{{.Tag}}",
    "imageID1\ttag1\nimageID2\ttag2\nimageID3\t<none>\n"
)]
#[case("  {{.ID}}  ", "imageID1\nimageID2\nimageID3\n")]
// pad and truncate (docs: `docker image list --format '{{pad .Repository 5 10}}'`).
#[case(
    "{{pad .Repository 5 10}}|",
    "     image          |\n     image          |\n     <none>          |\n"
)]
#[case("{{truncate .Repository 5}}", "image\nimage\n<none\n")]
#[case(
    r"table {{upper .Repository}}\t{{truncate .Tag 2}}\t{{lower .ID}}",
    "REPOSITORY   TAG       IMAGE ID\n\
     IMAGE        ta        imageid1\n\
     IMAGE        ta        imageid2\n\
     <NONE>       <n        imageid3\n"
)]
#[case(
    r"table {{pad .Tag 1 1}}\t{{.Size}}",
    " TAG       SIZE\n tag1      0B\n tag2      0B\n <none>    0B\n"
)]
fn image_list_formats(#[case] format: &str, #[case] want: &str) {
    assert_eq!(render(format, &images()).unwrap(), want);
}

#[test]
fn table_with_no_items_prints_the_header() {
    assert_eq!(
        render("table {{.Repository}}", &[]).unwrap(),
        "REPOSITORY\n"
    );
    assert_eq!(
        render(r"table {{.Repository}}\t{{.Digest}}", &[]).unwrap(),
        "REPOSITORY   DIGEST\n"
    );
    assert_eq!(render("{{.Repository}}", &[]).unwrap(), "");
}

// docker/cli `TestContext`: `json` is one object per line, keys sorted,
// HTML characters escaped (Docker marshals a map with json.Marshal).
#[test]
fn json_format_prints_one_object_per_line() {
    let items = [
        json!({"Repository": "<none>", "ID": "imageID3", "Size": "0B"}),
        json!({"Name": "test"}),
    ];
    let t = Template::parse("json", IMAGE_HEADERS).unwrap();
    assert_eq!(t.mode(), Mode::Json);
    let mut out = Vec::new();
    t.render(&items, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"ID\":\"imageID3\",\"Repository\":\"\\u003cnone\\u003e\",\"Size\":\"0B\"}\n{\"Name\":\"test\"}\n"
    );
}

#[test]
fn json_function_does_not_escape_html() {
    // docker/cli templates_test.go TestParseJSONFunctions (GitHub #32120).
    let out = render("{{json .Ports}}", &[json!({"Ports": "0.0.0.0:2->8/udp"})]).unwrap();
    assert_eq!(out, "\"0.0.0.0:2->8/udp\"\n");
    let out = render("{{json .}}", &[json!({"b": 1, "a": "<none>"})]).unwrap();
    assert_eq!(out, "{\"a\":\"<none>\",\"b\":1}\n");
}

// docker/cli templates_test.go.
#[rstest]
#[case(r#"{{join (split . ":") "/"}}"#, json!("text:with:colon"), "text/with/colon")]
#[case("this is a {{ . }}", json!("string"), "this is a string")]
#[case("{{truncate . 5}}", json!("tupx5xzf6hvsrhnruz5cr8gwp"), "tupx5")]
#[case("{{truncate . 25}}", json!("tupx5xzf6hvsrhnruz5cr8gwp"), "tupx5xzf6hvsrhnruz5cr8gwp")]
#[case("{{truncate . 30}}", json!("tupx5xzf6hvsrhnruz5cr8gwp"), "tupx5xzf6hvsrhnruz5cr8gwp")]
#[case("{{pad . 3 3}}", json!("tupx5xzf6hvsrhnruz5cr8gwp"), "   tupx5xzf6hvsrhnruz5cr8gwp   ")]
#[case("{{truncate . 5}}", json!(""), "")]
#[case("{{pad . 3 3}}", json!(""), "")]
fn docker_template_functions(#[case] text: &str, #[case] data: Value, #[case] want: &str) {
    let t = Template::parse_go(text).unwrap();
    assert_eq!(t.render_one(&data).unwrap(), want);
}

#[rstest]
#[case("{{truncate . 5}}")]
#[case("{{pad . 3 3}}")]
fn docker_template_functions_fail_on_nil(#[case] text: &str) {
    let t = Template::parse_go(text).unwrap();
    assert!(t.render_one(&Value::Null).is_err());
}

// docker/cli TestHeaderFunctions: in a header the string functions return
// their argument unchanged.
#[rstest]
#[case("table {{ json .ID}}")]
#[case(r#"table {{ split .ID ","}}"#)]
#[case(r#"table {{ join .ID ","}}"#)]
#[case("table {{ title .ID}}")]
#[case("table {{ lower .ID}}")]
#[case("table {{ upper .ID}}")]
#[case("table {{ truncate .ID 2}}")]
fn header_functions_keep_the_column_name(#[case] format: &str) {
    let t = Template::parse(format, [("ID", "hello world")]).unwrap();
    assert_eq!(t.render_header(), "hello world");
}

#[test]
fn header_of_an_unknown_field_is_no_value() {
    let t = Template::parse(r"table {{.ID}}\t{{.Foo}}", IMAGE_HEADERS).unwrap();
    assert_eq!(t.render_header(), "IMAGE ID\t<no value>");
}

// Errors read as Docker's (docker/cli TestImageContextWrite).
#[rstest]
#[case(
    "{{InvalidFunction}}",
    r#"template parsing error: template: :1: function "InvalidFunction" not defined"#
)]
#[case(
    "{{nil}}",
    r#"template parsing error: template: :1:2: executing "" at <nil>: nil is not a command"#
)]
#[case(
    "{{ .ID }",
    r#"template parsing error: template: :1: unexpected "}" in operand"#
)]
#[case("{{.ID.Foo}}", r#"template parsing error: template: :1:5: executing "" at <.ID.Foo>: can't evaluate field Foo in type string"#)]
#[case(
    "table {{.ID}\t",
    "template parsing error: template: :1: bad character U+007D '}'"
)]
fn errors_read_like_docker(#[case] format: &str, #[case] want: &str) {
    let err = render(format, &images()).unwrap_err();
    assert_eq!(err.to_string(), want);
}

#[test]
fn errors_write_nothing() {
    let t = Template::parse("{{.ID.Foo}}", IMAGE_HEADERS).unwrap();
    let mut out = Vec::new();
    assert!(t.render(images(), &mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn missing_fields_print_no_value_in_list_formats() {
    assert_eq!(render("{{.Nope}}", &images()[..1]).unwrap(), "<no value>\n");
    let t = Template::parse("{{.Nope}}", IMAGE_HEADERS)
        .unwrap()
        .with_missing_key(MissingKey::Error);
    assert!(t.render_one(&images()[0]).is_err());
}

#[test]
fn table_detection_is_a_prefix_as_in_docker() {
    let t = Template::parse("table", IMAGE_HEADERS).unwrap();
    assert!(t.is_table());
    assert!(
        !Template::parse("{{.ID}} table", IMAGE_HEADERS)
            .unwrap()
            .is_table()
    );
    assert!(Template::parse("json", IMAGE_HEADERS).unwrap().is_json());
    assert!(!Template::parse(" json", IMAGE_HEADERS).unwrap().is_json());
}

#[test]
fn wide_characters_align_by_display_width() {
    let items = [
        json!({"Repository": "日本語", "Tag": "1"}),
        json!({"Repository": "abc", "Tag": "2"}),
    ];
    assert_eq!(
        render(r"table {{.Repository}}\t{{.Tag}}", &items).unwrap(),
        "REPOSITORY   TAG\n日本語       1\nabc          2\n"
    );
}

#[test]
fn broken_pipe_is_a_write_error() {
    struct Closed;
    impl std::io::Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let t = Template::parse("{{.ID}}", IMAGE_HEADERS).unwrap();
    match t.render(images(), &mut Closed) {
        Err(TemplateError::Write(e)) => assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe),
        other => panic!("{other:?}"),
    }
}

#[test]
fn headers_can_be_a_hash_map() {
    let headers: std::collections::HashMap<&str, &str> =
        [("ID", "IMAGE ID"), ("Size", "SIZE")].into_iter().collect();
    let t = Template::parse(r"table {{.ID}}\t{{.Size}}", &headers).unwrap();
    assert_eq!(t.render_header(), "IMAGE ID\tSIZE");
}

// A nil slice or map field of Docker's struct: JSON `null`, but Go prints it empty.
#[rstest]
#[case("{{.Config.Env}}", "[]\n")]
#[case("{{.Config.Labels}}", "map[]\n")]
#[case("{{json .Config.Env}}", "null\n")]
#[case("{{len .Config.Env}}", "0\n")]
#[case("{{range .Config.Env}}x{{else}}none{{end}}", "none\n")]
#[case("{{if .Config.Labels}}yes{{else}}no{{end}}", "no\n")]
#[case(
    "{{json .Config}}",
    "{\"Cmd\":[\"sh\"],\"Env\":null,\"Labels\":null,\"User\":null}\n"
)]
// Named but left out of the JSON (Docker's `omitempty`): still the struct's nil field.
#[case("{{.Config.Shell}}", "[]\n")]
// Not named: a nil pointer, `<nil>` as before.
#[case("{{.Config.User}}", "<nil>\n")]
fn nil_fields_print_as_go_prints_nil_slices_and_maps(#[case] format: &str, #[case] want: &str) {
    let item = json!({"Config": {"Env": null, "Labels": null, "User": null, "Cmd": ["sh"]}});
    let t = Template::parse_inspect(format).unwrap().with_nil_fields([
        ("Env", false),
        ("Labels", true),
        ("Shell", false),
        ("Cmd", false),
    ]);
    let mut out = Vec::new();
    t.render(std::slice::from_ref(&item), &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), want);
}
