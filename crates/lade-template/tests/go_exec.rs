//! Rows ported from Go's `text/template/exec_test.go`, with Go's test value
//! `tVal` rewritten as JSON. Rows that need Go methods, channels, complex
//! numbers or typed maps are left out; where a JSON map differs from Go's
//! typed map (a missing key is `<no value>`, not the element type's zero
//! value) the row says so.

// Helpers outside #[test] functions unwrap too: a failure names the case.
#![allow(clippy::unwrap_used)]

use lade_template::Template;
use rstest::rstest;
use serde_json::{Value, json};

fn t_val() -> Value {
    json!({
        "True": true,
        "I": 17,
        "U16": 16,
        "X": "x",
        "S": "xyz",
        "U": {"V": "v"},
        "FloatZero": 0.0,
        "SI": [3, 4, 5],
        "SIEmpty": [],
        "SB": [true, false],
        "AI": [3, 4, 5],
        "MSI": {"one": 1, "two": 2, "three": 3},
        "MSIone": {"one": 1},
        "MSIEmpty": {},
        "SMSI": [{"one": 1, "two": 2}, {"eleven": 11, "twelve": 12}],
        "Empty3": [7, 8],
        "PS": "a string",
        "NIL": null
    })
}

fn exec(text: &str, data: &Value) -> Result<String, String> {
    let t = Template::parse_go(text).map_err(|e| e.to_string())?;
    t.render_one(data)
        .map_err(|e| e.go_message().unwrap_or_default().to_owned())
}

#[rstest]
// Fields.
#[case("{{.X}}", "x")]
#[case("{{.U.V}}", "v")]
#[case("{{$.I}}", "17")]
#[case("{{$.U.V}}", "v")]
#[case("{{.foo}}", "<no value>")]
#[case("{{(.).U.V}}", "v")]
#[case("{{(1)}}", "1")]
#[case("{{.NIL}}", "<nil>")]
#[case("{{.SI}}", "[3 4 5]")]
#[case("{{.MSI}}", "map[one:1 three:3 two:2]")]
#[case("{{.Empty3}}", "[7 8]")]
// If.
#[case("{{if true}}TRUE{{end}}", "TRUE")]
#[case("{{if false}}TRUE{{else}}FALSE{{end}}", "FALSE")]
#[case("{{if 1}}NON-ZERO{{else}}ZERO{{end}}", "NON-ZERO")]
#[case("{{if 0}}NON-ZERO{{else}}ZERO{{end}}", "ZERO")]
#[case("{{if 1.5}}NON-ZERO{{else}}ZERO{{end}}", "NON-ZERO")]
#[case("{{if .FloatZero}}NON-ZERO{{else}}ZERO{{end}}", "ZERO")]
#[case("{{if .NIL}}NON-ZERO{{else}}ZERO{{end}}", "ZERO")]
#[case("{{if ``}}NON-EMPTY{{else}}EMPTY{{end}}", "EMPTY")]
#[case("{{if `notempty`}}NON-EMPTY{{else}}EMPTY{{end}}", "NON-EMPTY")]
#[case("{{if .SIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}", "EMPTY")]
#[case("{{if .SI}}NON-EMPTY{{else}}EMPTY{{end}}", "NON-EMPTY")]
#[case("{{if .MSIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}", "EMPTY")]
#[case("{{if .MSI}}NON-EMPTY{{else}}EMPTY{{end}}", "NON-EMPTY")]
#[case("{{if .MXI.none}}NON-ZERO{{else}}ZERO{{end}}", "ZERO")]
#[case("{{if not .MXI.none}}ZERO{{else}}NON-ZERO{{end}}", "ZERO")]
#[case(
    "{{if $x := true}}{{with $y := .I}}{{$x}},{{$y}}{{end}}{{end}}",
    "true,17"
)]
#[case(
    "{{if $x := true}}{{with $x := .I}}{{$x}},{{end}}{{$x}}{{end}}",
    "17,true"
)]
#[case("{{if false}}FALSE{{else if true}}TRUE{{end}}", "TRUE")]
#[case("{{if eq 1 3}}1{{else if eq 2 3}}2{{else if eq 3 3}}3{{end}}", "3")]
// Print etc.
#[case(r#"{{print "hello, print"}}"#, "hello, print")]
#[case("{{print 1 2 3}}", "1 2 3")]
#[case("{{print nil}}", "<nil>")]
#[case("{{println 1 2 3}}", "1 2 3\n")]
#[case(r#"{{printf "%04x" 127}}"#, "007f")]
#[case(r#"{{printf "%g" 3.5}}"#, "3.5")]
#[case(r#"{{printf "%s" "hello"}}"#, "hello")]
#[case(r#"{{printf "%s" .U.V}}"#, "v")]
#[case(r#"{{with .I}}{{printf "%d" .}}{{end}}"#, "17")]
#[case(r#"{{with $x := .I}}{{printf "%d" $x}}{{end}}"#, "17")]
#[case(r#"{{printf "%v" .NIL}} {{printf "%v" .nothing}}"#, "<nil> <nil>")]
// HTML, JavaScript, URL query.
#[case(
    r#"{{html "<script>alert(\"XSS\");</script>"}}"#,
    "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;"
)]
#[case(
    r#"{{printf "<script>alert(\"XSS\");</script>" | html}}"#,
    "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;"
)]
#[case("{{html .PS}}", "a string")]
#[case("{{html .Empty0}}", "&lt;no value&gt;")]
#[case(r#"{{js "It'd be nice."}}"#, r"It\'d be nice.")]
#[case(r#"{{js "<html> = &"}}"#, r"\u003Chtml\u003E \u003D \u0026")]
#[case(
    r#"{{"http://www.example.org/"|urlquery}}"#,
    "http%3A%2F%2Fwww.example.org%2F"
)]
// Booleans.
#[case("{{not true}} {{not false}}", "false true")]
#[case(
    "{{and false 0}} {{and 1 0}} {{and 0 true}} {{and 1 1}}",
    "false 0 0 1"
)]
#[case("{{or 0 0}} {{or 1 0}} {{or 0 true}} {{or 1 1}}", "0 1 true 1")]
#[case("{{or 0 1 (index nil 1)}}", "1")]
#[case("{{and 1 0 (index nil 1)}}", "0")]
#[case("{{1 | and 1}}", "1")]
#[case("{{0 | and 1}}", "0")]
#[case("{{1 | or 0}}", "1")]
#[case("{{0 | or 0}}", "0")]
#[case("{{and 1 .Unknown}}", "<no value>")]
#[case("{{or 0 .Unknown}}", "<no value>")]
#[case("{{if and true 1 `hi`}}TRUE{{else}}FALSE{{end}}", "TRUE")]
#[case("{{if and true 1 `hi` | not}}TRUE{{else}}FALSE{{end}}", "FALSE")]
#[case("{{if true | not | and 1}}TRUE{{else}}FALSE{{end}}", "FALSE")]
// Indexing.
#[case("{{index .SI 0}}", "3")]
#[case("{{index .SI 1}}", "4")]
#[case("{{index .MSI `one`}}", "1")]
#[case("{{index .MSI `two`}}", "2")]
#[case("{{index .MSI `XXX`}}", "<no value>")] // Go's map[string]int gives 0
#[case("{{index .SMSI 1 `eleven`}}", "11")]
#[case("{{index .Empty3 0}}", "7")]
#[case("{{index .S 1}}", "121")]
// Slicing.
#[case("{{slice .SI}}", "[3 4 5]")]
#[case("{{slice .SI 1}}", "[4 5]")]
#[case("{{slice .SI 1 2}}", "[4]")]
#[case("{{slice .SI 1 2 3}}", "[4]")]
#[case("{{slice .AI 1 2}}", "[4]")]
#[case("{{slice .S}}", "xyz")]
#[case("{{slice .S 0 1}}", "x")]
#[case("{{slice .S 1}}", "yz")]
#[case("{{slice .S 1 2}}", "y")]
#[case("{{slice .Empty3 0 1}}", "[7]")]
// Len.
#[case("{{len .SI}}", "3")]
#[case("{{len .MSI }}", "3")]
#[case("{{len .Empty3}}", "2")]
#[case("{{len .S}}", "3")]
// With.
#[case("{{with true}}{{.}}{{end}}", "true")]
#[case("{{with false}}{{.}}{{else}}FALSE{{end}}", "FALSE")]
#[case("{{with 1}}{{.}}{{else}}ZERO{{end}}", "1")]
#[case("{{with 0}}{{.}}{{else}}ZERO{{end}}", "ZERO")]
#[case("{{with 1.5}}{{.}}{{else}}ZERO{{end}}", "1.5")]
#[case("{{with .FloatZero}}{{.}}{{else}}ZERO{{end}}", "ZERO")]
#[case("{{with ``}}{{.}}{{else}}EMPTY{{end}}", "EMPTY")]
#[case("{{with `notempty`}}{{.}}{{else}}EMPTY{{end}}", "notempty")]
#[case("{{with .SIEmpty}}{{.}}{{else}}EMPTY{{end}}", "EMPTY")]
#[case("{{with .SI}}{{.}}{{else}}EMPTY{{end}}", "[3 4 5]")]
#[case("{{with .MSIEmpty}}{{.}}{{else}}EMPTY{{end}}", "EMPTY")]
#[case("{{with .MSIone}}{{.}}{{else}}EMPTY{{end}}", "map[one:1]")]
#[case("{{with $x := .I}}{{$x}}{{end}}", "17")]
#[case("{{with $x := $}}{{$x.U.V}}{{end}}", "v")]
#[case("{{with $x := $}}{{$y := $.U.V}}{{$y}}{{end}}", "v")]
#[case("{{with 0}}{{.}}{{else with true}}{{.}}{{end}}", "true")]
#[case(
    "{{with 0}}{{.}}{{else with false}}{{.}}{{else with `notempty`}}{{.}}{{end}}",
    "notempty"
)]
// Range.
#[case("{{range .SI}}-{{.}}-{{end}}", "-3--4--5-")]
#[case("{{range .SIEmpty}}-{{.}}-{{end}}", "")]
#[case("{{range .SI}}-{{.}}-{{else}}EMPTY{{end}}", "-3--4--5-")]
#[case("{{range .SIEmpty}}-{{.}}-{{else}}EMPTY{{end}}", "EMPTY")]
#[case("{{range .SI}}-{{.}}-{{break}}NOTREACHED{{else}}EMPTY{{end}}", "-3-")]
#[case(
    "{{range .SI}}-{{.}}-{{continue}}NOTREACHED{{else}}EMPTY{{end}}",
    "-3--4--5-"
)]
#[case("{{range .SB}}-{{.}}-{{end}}", "-true--false-")]
#[case("{{range .MSI}}-{{.}}-{{end}}", "-1--3--2-")]
#[case("{{range .MSIEmpty}}-{{.}}-{{end}}", "")]
#[case("{{range .MSI}}-{{.}}-{{else}}EMPTY{{end}}", "-1--3--2-")]
#[case("{{range .MSIEmpty}}-{{.}}-{{else}}EMPTY{{end}}", "EMPTY")]
#[case("{{range .Empty3}}-{{.}}-{{else}}EMPTY{{end}}", "-7--8-")]
#[case("{{range .Empty0}}-{{.}}-{{end}}", "")]
#[case("{{range $x := .SI}}<{{$x}}>{{end}}", "<3><4><5>")]
#[case("{{range $x, $y := .SI}}<{{$x}}={{$y}}>{{end}}", "<0=3><1=4><2=5>")]
#[case("{{range $x := .MSIone}}<{{$x}}>{{end}}", "<1>")]
#[case("{{range $x, $y := .MSIone}}<{{$x}}={{$y}}>{{end}}", "<one=1>")]
#[case("{{range $x := .SI}}<{{$foo:=$x}}{{$x}}>{{end}}", "<3><4><5>")]
#[case(
    r#"{{range $v := 5}}{{printf "%T%d" $v $v}}{{end}}"#,
    "int0int1int2int3int4"
)]
#[case("{{range $v := 0}}{{$v}}{{else}}empty{{end}}", "empty")]
#[case("{{$i := 0}}{{$x := 0}}{{range $i = .AI}}{{end}}{{$i}}", "5")]
#[case(
    "{{$k := 0}}{{$v := 0}}{{range $k, $v = .AI}}{{$k}}={{$v}} {{end}}",
    "0=3 1=4 2=5 "
)]
#[case("{{range .SI}}{{if $.True}}{{.}}{{end}}{{end}}", "345")]
// Cute examples.
#[case(r#"{{or .SI "slice is empty"}}"#, "[3 4 5]")]
#[case(r#"{{or .SIEmpty "slice is empty"}}"#, "slice is empty")]
// Numbers.
#[case("{{print 1234}}", "1234")]
#[case("{{print 12_34}}", "1234")]
#[case("{{print 0b101}}", "5")]
#[case("{{print 0b_1_0_1}}", "5")]
#[case("{{print 0B101}}", "5")]
#[case("{{print 0377}}", "255")]
#[case("{{print 0o377}}", "255")]
#[case("{{print 0o_3_7_7}}", "255")]
#[case("{{print 0O377}}", "255")]
#[case("{{print 0x123}}", "291")]
#[case("{{print 0x1_23}}", "291")]
#[case("{{print 0X123ABC}}", "1194684")]
#[case("{{print 123.4}}", "123.4")]
#[case("{{print 0_0_1_2_3.4}}", "123.4")]
#[case("{{print +0x1.ep+2}}", "7.5")]
#[case("{{print +0x_1.e_0p+0_2}}", "7.5")]
#[case("{{print +0X1.EP+2}}", "7.5")]
#[case("{{print 1_2_3_4 7.5_00_00_00}}", "1234 7.5")]
#[case("{{print 1234 0x0_1.e_0p+02}}", "1234 7.5")]
#[case("{{print 'a'}}", "97")]
#[case("{{print 1e3}}", "1000")]
// Fixed bugs.
#[case("{{printf `%T` 0xef}}", "int")]
#[case("{{printf `%T` 0XEE}}", "int")]
#[case("{{printf `%T` 1.0}}", "float64")]
#[case("{{print ($).I}}", "17")]
#[case(r#"{{"aaa"|printf }}"#, "aaa")]
// Trim markers and comments (Go's TestTrim... rows).
#[case("x {{- 3 -}} y", "x3y")]
#[case("x \n\t{{- 3}} y", "x3 y")]
#[case("{{- /* hi */ -}}\n  a", "a")]
#[case("{{23 -}} < {{- 45}}", "23<45")]
#[case("{{23 -}} <\n {{- 45}}", "23<45")]
#[case("{{-3}}", "-3")]
// Nested templates.
#[case(
    r#"{{define "x"}}[{{.}}]{{end}}{{template "x" .I}}{{template "x" .X}}"#,
    "[17][x]"
)]
#[case(r#"{{block "b" .U}}{{.V}}{{end}}!"#, "v!")]
fn executes_like_go(#[case] text: &str, #[case] want: &str) {
    assert_eq!(exec(text, &t_val()).as_deref(), Ok(want), "{text}");
}

#[rstest]
#[case(
    "{{1 2}}",
    r#"template: :1:2: executing "" at <1>: can't give argument to non-function 1"#
)]
#[case(
    "{{(1) 2}}",
    r#"template: :1:2: executing "" at <(1) 2>: can't give argument to non-function 1"#
)]
#[case(
    "{{nil}}",
    r#"template: :1:2: executing "" at <nil>: nil is not a command"#
)]
#[case(
    "{{if nil}}TRUE{{end}}",
    r#"template: :1:5: executing "" at <nil>: nil is not a command"#
)]
#[case(
    "{{$x := 1}}{{$x 2}}",
    r#"template: :1:13: executing "" at <$x>: can't give argument to non-function $x"#
)]
#[case(
    "{{$x := 1}}{{3 | $x}}",
    r#"template: :1:17: executing "" at <$x>: can't give argument to non-function $x"#
)]
#[case(
    "{{(nil).True}}",
    r#"template: :1:3: executing "" at <nil>: nil is not a command"#
)]
#[case("{{index .SI 10}}", r#"template: :1:2: executing "" at <index .SI 10>: error calling index: index out of range: 10"#)]
#[case("{{index .SI 3}}", r#"template: :1:2: executing "" at <index .SI 3>: error calling index: reflect: slice index out of range"#)]
#[case("{{index .SI `hello`}}", r#"template: :1:2: executing "" at <index .SI `hello`>: error calling index: cannot index slice/array with type string"#)]
#[case("{{index .SI nil}}", r#"template: :1:2: executing "" at <index .SI nil>: error calling index: cannot index slice/array with nil"#)]
#[case("{{index .MSI nil}}", r#"template: :1:2: executing "" at <index .MSI nil>: error calling index: value is nil; should be of type string"#)]
#[case("{{index .MSI 10}}", r#"template: :1:2: executing "" at <index .MSI 10>: error calling index: value has type int; should be string"#)]
#[case(
    "{{index nil 1}}",
    r#"template: :1:2: executing "" at <index nil 1>: error calling index: index of untyped nil"#
)]
#[case("{{index .I 1}}", r#"template: :1:2: executing "" at <index .I 1>: error calling index: can't index item of type int"#)]
#[case("{{slice .SI -1}}", r#"template: :1:2: executing "" at <slice .SI -1>: error calling slice: index out of range: -1"#)]
#[case("{{slice .SI 1 -2}}", r#"template: :1:2: executing "" at <slice .SI 1 -2>: error calling slice: index out of range: -2"#)]
#[case("{{slice .SI 2 1}}", r#"template: :1:2: executing "" at <slice .SI 2 1>: error calling slice: invalid slice index: 2 > 1"#)]
#[case("{{slice .SI 2 2 1}}", r#"template: :1:2: executing "" at <slice .SI 2 2 1>: error calling slice: invalid slice index: 2 > 1"#)]
#[case("{{slice .SI 4 5}}", r#"template: :1:2: executing "" at <slice .SI 4 5>: error calling slice: index out of range: 4"#)]
#[case(
    "{{slice .S 1 5}}",
    r#"template: :1:2: executing "" at <slice .S 1 5>: error calling slice: index out of range: 5"#
)]
#[case("{{slice .S 1 2 2}}", r#"template: :1:2: executing "" at <slice .S 1 2 2>: error calling slice: cannot 3-index slice a string"#)]
#[case(
    "{{len 3}}",
    r#"template: :1:2: executing "" at <len 3>: error calling len: len of type int"#
)]
#[case(
    "{{len .NIL}}",
    r#"template: :1:2: executing "" at <len .NIL>: error calling len: len of nil pointer"#
)]
#[case(
    "{{true|printf}}",
    r#"template: :1:7: executing "" at <printf>: wrong type for value; expected string; got bool"#
)]
#[case(
    "{{1|printf}}",
    r#"template: :1:4: executing "" at <printf>: wrong type for value; expected string; got int"#
)]
#[case("{{1.1|printf}}", r#"template: :1:6: executing "" at <printf>: wrong type for value; expected string; got float64"#)]
#[case(
    "{{printf 3}}",
    r#"template: :1:9: executing "" at <3>: expected string; found 3"#
)]
#[case("{{printf}}", r#"template: :1:2: executing "" at <printf>: wrong number of args for printf: want at least 1 got 0"#)]
#[case(
    "{{not}}",
    r#"template: :1:2: executing "" at <not>: wrong number of args for not: want 1 got 0"#
)]
#[case(
    "{{eq}}",
    r#"template: :1:2: executing "" at <eq>: wrong number of args for eq: want at least 1 got 0"#
)]
#[case(
    "{{eq 1}}",
    r#"template: :1:2: executing "" at <eq 1>: error calling eq: missing argument for comparison"#
)]
#[case("{{eq .I .S}}", r#"template: :1:2: executing "" at <eq .I .S>: error calling eq: incompatible types for comparison: int and string"#)]
#[case("{{lt 1 2.5}}", r#"template: :1:2: executing "" at <lt 1 2.5>: error calling lt: incompatible types for comparison: int and float64"#)]
#[case(
    "{{lt .SI 1}}",
    r#"template: :1:2: executing "" at <lt .SI 1>: error calling lt: invalid type for comparison"#
)]
#[case("{{lt true false}}", r#"template: :1:2: executing "" at <lt true false>: error calling lt: invalid type for comparison"#)]
#[case("{{eq .SI .SI}}", r#"template: :1:2: executing "" at <eq .SI .SI>: error calling eq: non-comparable type [%!s(int=3) %!s(int=4) %!s(int=5)]: []interface {}"#)]
#[case(
    "{{.S.Foo}}",
    r#"template: :1:4: executing "" at <.S.Foo>: can't evaluate field Foo in type string"#
)]
#[case(
    "{{.NIL.Foo}}",
    r#"template: :1:6: executing "" at <.NIL.Foo>: nil pointer evaluating interface {}.Foo"#
)]
#[case(
    "{{.U.V 3}}",
    r#"template: :1:4: executing "" at <.U.V>: V is not a method but has arguments"#
)]
#[case(
    "{{range .S}}{{end}}",
    r#"template: :1:8: executing "" at <.S>: range can't iterate over xyz"#
)]
#[case(
    "{{range $i, $c := 3}}{{end}}",
    r#"template: :1:18: executing "" at <3>: can't use 3 to iterate over more than one variable"#
)]
#[case(
    "{{template \"nope\"}}",
    r#"template: :1:11: executing "" at <{{template "nope"}}>: template "nope" not defined"#
)]
#[case(
    "{{upper .I}}",
    r#"template: :1:8: executing "" at <.I>: wrong type for value; expected string; got int"#
)]
#[case(
    "{{upper .missing}}",
    r#"template: :1:8: executing "" at <.missing>: invalid value; expected string"#
)]
#[case(
    "{{upper 3}}",
    r#"template: :1:8: executing "" at <3>: expected string; found 3"#
)]
#[case(
    "{{truncate .S 1.5}}",
    r#"template: :1:14: executing "" at <1.5>: expected integer; found 1.5"#
)]
#[case(
    "{{join .S \",\"}}",
    r#"template: :1:7: executing "" at <.S>: wrong type for value; expected []string; got string"#
)]
#[case("{{join .SI \",\"}}", r#"template: :1:7: executing "" at <.SI>: wrong type for value; expected []string; got []interface {}"#)]
fn fails_like_go(#[case] text: &str, #[case] want: &str) {
    assert_eq!(exec(text, &t_val()), Err(want.to_owned()), "{text}");
}

/// Go's `TestExecError`: an error in a nested template names it and its place.
#[test]
fn error_in_nested_template_names_it() {
    let text = "line 1\nline 2\nline 3\n{{template \"one\" .}}\n\
                {{define \"one\"}}{{template \"two\" .}}{{end}}\n\
                {{define \"two\"}}{{template \"three\" .}}{{end}}\n\
                {{define \"three\"}}{{index \"hi\" $}}{{end}}";
    assert_eq!(
        exec(text, &json!(5)),
        Err(r#"template: :7:20: executing "three" at <index "hi" $>: error calling index: index out of range: 5"#.to_owned())
    );
}

/// Go's `TestMissingMapKey`.
#[test]
fn missing_map_key() {
    let data = json!({"x": 99});
    assert_eq!(exec("{{.x}} {{.y}}", &data).as_deref(), Ok("99 <no value>"));
    let t = Template::parse_go("{{.x}} {{.y}}")
        .unwrap()
        .with_missing_key(lade_template::MissingKey::Error);
    assert_eq!(
        t.render_one(&data).unwrap_err().go_message(),
        Some(r#"template: :1:9: executing "" at <.y>: map has no entry for key "y""#)
    );
}

/// Comparison rows from Go's `cmpTests`.
#[rstest]
#[case("eq true true", "true")]
#[case("eq true false", "false")]
#[case("eq 1 1", "true")]
#[case("eq 1 2", "false")]
#[case("eq 1.5 1.5", "true")]
#[case("eq `xy` `xy`", "true")]
#[case("eq `xy` `xyz`", "false")]
#[case("eq .X `x`", "true")]
#[case("eq 1 2 3 4 1", "true")]
#[case("eq 1 2 3 4 5", "false")]
#[case("ne 1 1", "false")]
#[case("ne `xy` `xyz`", "true")]
#[case("lt 1 2", "true")]
#[case("lt 1.5 1.5", "false")]
#[case("lt `xy` `xyz`", "true")]
#[case("le 1.5 1.5", "true")]
#[case("le 2 1", "false")]
#[case("gt 1 2", "false")]
#[case("gt 2.5 1.5", "true")]
#[case("ge 1 1", "true")]
#[case("ge `a` `b`", "false")]
#[case("eq .NIL nil", "true")]
#[case("eq .missing nil", "true")]
#[case("eq .X nil", "false")]
#[case("eq .SI nil", "false")]
fn compares_like_go(#[case] expr: &str, #[case] want: &str) {
    let text = format!("{{{{{expr}}}}}");
    assert_eq!(exec(&text, &t_val()).as_deref(), Ok(want), "{expr}");
}
