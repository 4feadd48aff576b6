//! The pieces pages are made of. Each renders itself to HTML through its own template, with
//! every text escaped; only the SVG charts (built by `chart`, which escapes its own text) go
//! in as markup.

use askama::Template;

/// Something a page shows.
pub trait Block {
    fn html(&self) -> String;
}

fn render(t: &impl Template) -> String {
    t.render().unwrap_or_else(|e| format!("<p class=\"error\">cannot render: {e}</p>"))
}

/// How a value should look: plain, good news, a warning or a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    #[default]
    Plain,
    Good,
    Warn,
    Bad,
}

impl Tone {
    pub fn class(self) -> &'static str {
        match self {
            Tone::Plain => "plain",
            Tone::Good => "good",
            Tone::Warn => "warn",
            Tone::Bad => "bad",
        }
    }
}

/// A section heading inside a page.
pub struct Heading(pub String);

impl Block for Heading {
    fn html(&self) -> String {
        format!("<h2>{}</h2>", escape(&self.0))
    }
}

/// A paragraph of explanation.
pub struct Note(pub String);

impl Block for Note {
    fn html(&self) -> String {
        format!("<p class=\"note\">{}</p>", escape(&self.0))
    }
}

/// Markup built and escaped by this crate (the SVG charts).
pub struct Markup(pub String);

impl Block for Markup {
    fn html(&self) -> String {
        self.0.clone()
    }
}

/// HTML-escapes text for an element or a quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One figure of a row of cards (the dashboard's counts).
pub struct Card {
    pub label: String,
    pub value: String,
    pub href: Option<String>,
    pub tone: Tone,
}

#[derive(Template)]
#[template(path = "cards.html")]
pub struct Cards(pub Vec<Card>);

impl Block for Cards {
    fn html(&self) -> String {
        render(self)
    }
}

/// A table cell: text, optionally a link, optionally shown as a state badge.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub tone: Option<Tone>,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell { text: s.into(), ..Cell::default() }
    }
    pub fn link(s: impl Into<String>, href: impl Into<String>) -> Cell {
        Cell { text: s.into(), href: Some(href.into()), tone: None }
    }
    pub fn badge(s: impl Into<String>, tone: Tone) -> Cell {
        Cell { text: s.into(), href: None, tone: Some(tone) }
    }
}

/// A table row; `select` is the value of its checkbox when the table feeds a bulk form.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub select: Option<String>,
}

#[derive(Template)]
#[template(path = "table.html")]
pub struct Table {
    pub id: String,
    pub caption: Option<String>,
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
    /// What the table says when it has no row.
    pub empty: String,
    /// With bulk selection: the form the row checkboxes belong to and their field name.
    pub select: Option<(String, String)>,
}

impl Table {
    pub fn new(id: &str, headers: &[&str]) -> Table {
        Table {
            id: id.to_string(),
            caption: None,
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            empty: "Nothing to show.".into(),
            select: None,
        }
    }
    pub fn caption(mut self, c: impl Into<String>) -> Table {
        self.caption = Some(c.into());
        self
    }
    pub fn empty(mut self, e: impl Into<String>) -> Table {
        self.empty = e.into();
        self
    }
    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(Row { cells, select: None });
    }
}

impl Block for Table {
    fn html(&self) -> String {
        render(self)
    }
}

/// Label/value pairs (an update's or a computer's properties).
#[derive(Template)]
#[template(path = "facts.html")]
pub struct Facts(pub Vec<(String, Cell)>);

impl Block for Facts {
    fn html(&self) -> String {
        render(self)
    }
}

/// Where a paged table is and the links to the pages around it.
#[derive(Template)]
#[template(path = "pager.html")]
pub struct Pager {
    pub total: i64,
    pub first: i64,
    pub last: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// The pager of `shown` rows at `offset` of `total`; `href(offset)` links a page.
    pub fn new(total: i64, offset: u32, limit: u32, shown: usize, href: impl Fn(u32) -> String) -> Pager {
        let first = if shown == 0 { 0 } else { i64::from(offset) + 1 };
        let last = i64::from(offset) + shown as i64;
        let prev = (offset > 0).then(|| href(offset.saturating_sub(limit)));
        let next = (last < total).then(|| href(offset.saturating_add(limit)));
        Pager { total, first, last, prev, next }
    }
}

impl Block for Pager {
    fn html(&self) -> String {
        render(self)
    }
}

/// A choice of a select field.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Choice {
        Choice { value: value.into(), label: label.into(), selected }
    }

    /// The choices of a fixed list of `(value, label)`, with `chosen` selected.
    pub fn pick(options: &[(&str, &str)], chosen: &str) -> Vec<Choice> {
        options.iter().map(|(v, l)| Choice::new(*v, *l, chosen == *v)).collect()
    }
}

/// A form field. `kind` is the input type (`text`, `password`, `number`, `date`,
/// `datetime-local`, `time`, `email`, `search`, `hidden`), or `select`, `multi` (a multiple
/// select), `checkbox` or `textarea`.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub label: String,
    pub kind: &'static str,
    pub value: String,
    pub choices: Vec<Choice>,
    pub error: Option<String>,
    pub help: Option<String>,
    pub required: bool,
}

impl Field {
    pub fn new(kind: &'static str, name: &str, label: &str, value: impl Into<String>) -> Field {
        Field {
            name: name.into(),
            label: label.into(),
            kind,
            value: value.into(),
            choices: Vec::new(),
            error: None,
            help: None,
            required: false,
        }
    }
    pub fn select(name: &str, label: &str, choices: Vec<Choice>) -> Field {
        Field { choices, ..Field::new("select", name, label, "") }
    }
    pub fn multi(name: &str, label: &str, choices: Vec<Choice>) -> Field {
        Field { choices, ..Field::new("multi", name, label, "") }
    }
    pub fn checkbox(name: &str, label: &str, checked: bool) -> Field {
        Field::new("checkbox", name, label, if checked { "on" } else { "" })
    }
    pub fn help(mut self, h: impl Into<String>) -> Field {
        self.help = Some(h.into());
        self
    }
    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }
    pub fn error(mut self, e: Option<String>) -> Field {
        self.error = e;
        self
    }
    pub fn is_checked(&self) -> bool {
        !self.value.is_empty()
    }
    pub fn dom_id(&self, form: &str) -> String {
        format!("{form}-{}", self.name)
    }
}

/// A submit button; `name`/`value` tell the handler which of several was pressed.
#[derive(Debug, Clone)]
pub struct Button {
    pub label: String,
    pub name: String,
    pub value: String,
    pub danger: bool,
}

impl Button {
    pub fn new(label: &str) -> Button {
        Button { label: label.into(), name: String::new(), value: String::new(), danger: false }
    }
    pub fn named(label: &str, name: &str, value: &str) -> Button {
        Button { label: label.into(), name: name.into(), value: value.into(), danger: false }
    }
    pub fn danger(mut self) -> Button {
        self.danger = true;
        self
    }
}

/// A form. A POST form carries the session's CSRF token; a GET form (filters) does not.
#[derive(Template)]
#[template(path = "form.html")]
pub struct Form {
    pub id: String,
    pub title: Option<String>,
    pub action: String,
    pub post: bool,
    pub csrf: String,
    pub fields: Vec<Field>,
    pub buttons: Vec<Button>,
    /// What went wrong with the whole submission (the API's refusal).
    pub error: Option<String>,
    /// Laid out in a row (filters) instead of a column.
    pub inline: bool,
    /// Asks for confirmation before submitting (with JavaScript).
    pub confirm: Option<String>,
}

impl Form {
    pub fn post(id: &str, action: impl Into<String>, csrf: &str) -> Form {
        Form {
            id: id.into(),
            title: None,
            action: action.into(),
            post: true,
            csrf: csrf.into(),
            fields: Vec::new(),
            buttons: Vec::new(),
            error: None,
            inline: false,
            confirm: None,
        }
    }
    pub fn get(id: &str, action: impl Into<String>) -> Form {
        Form { post: false, inline: true, ..Form::post(id, action, "") }
    }
    pub fn title(mut self, t: impl Into<String>) -> Form {
        self.title = Some(t.into());
        self
    }
    pub fn field(mut self, f: Field) -> Form {
        self.fields.push(f);
        self
    }
    pub fn button(mut self, b: Button) -> Form {
        self.buttons.push(b);
        self
    }
    pub fn error(mut self, e: Option<String>) -> Form {
        self.error = e;
        self
    }
    pub fn confirm(mut self, question: impl Into<String>) -> Form {
        self.confirm = Some(question.into());
        self
    }
}

impl Block for Form {
    fn html(&self) -> String {
        render(self)
    }
}

/// A part of a page the script refreshes from `url` every few seconds while `active` (a
/// running synchronization's progress); without JavaScript it is simply what the page
/// showed when it was loaded.
pub struct Live {
    pub url: String,
    pub active: bool,
    pub inner: String,
}

impl Block for Live {
    fn html(&self) -> String {
        format!(
            "<div class=\"live\" data-live=\"{}\" data-active=\"{}\" aria-live=\"polite\">{}</div>",
            escape(&self.url),
            self.active,
            self.inner
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_everywhere() {
        let mut t = Table::new("t", &["Title"]);
        t.row(vec![Cell::link("<script>alert(1)</script>", "/x?a=1&b=\"2\"")]);
        let html = t.html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&#60;script&#62;alert(1)"), "{html}");
        let f = Form::post("f", "/a", "tok").field(Field::new("text", "q", "Q", "\"><b>"));
        assert!(!f.html().contains("\"><b>"));
        assert_eq!(escape("a&<>\"'"), "a&amp;&lt;&gt;&quot;&#39;");
    }

    #[test]
    fn a_post_form_carries_the_csrf_token_and_a_get_form_does_not() {
        let post = Form::post("f", "/a", "tok123").button(Button::new("Go")).html();
        assert!(post.contains("name=\"csrf\" value=\"tok123\""), "{post}");
        let get = Form::get("g", "/a").button(Button::new("Go")).html();
        assert!(!get.contains("csrf"), "{get}");
    }

    #[test]
    fn field_errors_sit_next_to_their_field() {
        let f = Form::post("approve", "/a", "t")
            .field(Field::new("datetime-local", "deadline", "Deadline", "x").error(Some("not a date".into())));
        let html = f.html();
        let input = html.find("id=\"approve-deadline\"").unwrap();
        let error = html.find("not a date").unwrap();
        assert!(error > input && error - input < 400, "{html}");
        assert!(html.contains("aria-invalid=\"true\""));
    }

    #[test]
    fn the_pager_links_the_pages_around() {
        let p = Pager::new(450, 200, 200, 200, |o| format!("/u?offset={o}"));
        assert_eq!((p.first, p.last), (201, 400));
        assert_eq!(p.prev.as_deref(), Some("/u?offset=0"));
        assert_eq!(p.next.as_deref(), Some("/u?offset=400"));
        let end = Pager::new(450, 400, 200, 50, |o| format!("/u?offset={o}"));
        assert!(end.next.is_none());
    }
}
