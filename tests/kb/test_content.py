import pytest

from portal.kb.content import ArticleError, find_article_path, load_article, render_markdown
from tests.kb.conftest import write_article


def test_front_matter_is_read(small_kb):
    article = load_article(small_kb / "guides" / "password-reset.md")
    assert article.slug == "password-reset"
    assert article.type == "guide"
    assert article.title == "Reset your password"
    assert article.tags == ["password", "sign-in"]
    assert article.category == "account"
    assert article.lang == "en" and article.draft is False


@pytest.mark.parametrize("meta, message", [
    ({"title": None}, "missing front matter: title"),
    ({"lang": "fr"}, "lang must be one of en, es"),
    ({"draft": "maybe"}, "draft must be true or false"),
    ({"updated": "last tuesday"}, "updated must be a date"),
    ({"colour": "blue"}, "unknown front matter keys: colour"),
    ({"title": "[unclosed"}, "not valid YAML"),
])
def test_bad_front_matter_says_what_is_wrong(tmp_path, meta, message):
    path = write_article(tmp_path, "faq", "broken", **meta)
    with pytest.raises(ArticleError, match=message.replace("(", r"\(")):
        load_article(path)


def test_slug_is_the_file_name_and_must_be_clean(tmp_path):
    path = write_article(tmp_path, "faq", "Bad_Name")
    with pytest.raises(ArticleError, match="file name is the slug"):
        load_article(path)


def test_find_article_looks_in_every_type_folder(small_kb):
    assert find_article_path(small_kb, "quota-limit") == small_kb / "faq" / "quota-limit.md"
    assert find_article_path(small_kb, "nope") is None
    assert find_article_path(small_kb, "../secrets") is None


def test_markdown_extensions_and_links(tmp_path):
    body = """
## First section
See [the FAQ](../faq/quota-limit.md#top) and [here](/kb/password-reset), ![chart](images/chart.png).

| a | b |
|---|---|
| 1 | 2 |

```python
print("hi")
```

!!! warning "Careful"
    Backups first.

<script>alert("x")</script><span onclick="evil()">ok</span>
"""
    rendered = render_markdown(body, tmp_path / "guides" / "x.md", tmp_path)
    html = rendered.html
    assert '<h2 id="first-section">' in html and 'class="headerlink"' in html
    assert 'href="/kb/quota-limit#top"' in html and 'href="/kb/password-reset"' in html
    assert 'src="/kb/assets/guides/images/chart.png"' in html
    assert "<table>" in html
    assert 'class="highlight"' in html and '<span class="nb">print</span>' in html
    assert 'class="admonition warning"' in html
    assert "<script" not in html and "onclick" not in html and "alert" not in html
    assert rendered.toc[0]["id"] == "first-section"
    assert "Backups first." in rendered.text and "<" not in rendered.text
