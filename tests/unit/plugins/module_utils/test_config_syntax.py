"""One rule per generated-file format, tried with hostile values."""
import pytest

from ansible_collections.fabric.boot.plugins.module_utils import config_syntax as cs

LINE_BREAKS = ["a\nb", "a\rb", "a\x0bb", "a\x0cb", "a\x1cb", "a\x85b", "a\u2028b", "a\u2029b", "a\x00b", "a\x7fb"]


@pytest.mark.parametrize("value", LINE_BREAKS + ["Rocky\nLABEL evil\n  KERNEL ::/x"])
def test_text_line_rejects_every_line_break(value):
    assert "line break" in cs.check_text_line(value)


@pytest.mark.parametrize("value", ["Rocky 9.5 \"netinstall\" (it's) {x} $y; #z", "Über-Knoten"])
def test_text_line_keeps_printable_text(value):
    assert cs.check_text_line(value) is None


def test_text_line_length_and_type():
    assert "at most 255" in cs.check_text_line("x" * 256)
    assert "must be a string" in cs.check_text_line(5)


@pytest.mark.parametrize("value", ['cluster.example"; deny booting; #', "cluster..example", "-a.example",
                                   "a b", "cluster.example\n", "x" * 64 + ".example", ""])
def test_dns_name_rejects(value):
    assert "is not a DNS name" in cs.check_dns_name(value)


@pytest.mark.parametrize("value", ["cluster.example", "ib", "a-b.c1.example"])
def test_dns_name_accepts(value):
    assert cs.check_dns_name(value) is None


@pytest.mark.parametrize("value", ["..", ".", ".hidden", "a/b", "", "a b", "x" * 65, "a\nb", "ü"])
def test_file_name_rejects(value):
    assert "is not a plain name" in cs.check_file_name(value)


@pytest.mark.parametrize("value", ["RHEL95", "rhel9.5-opa", "_x", "9"])
def test_file_name_accepts(value):
    assert cs.check_file_name(value) is None


@pytest.mark.parametrize("value,fragment", [
    ("../../etc/cron.d/x", "'..' component"),
    ("images/../../x", "'..' component"),
    ("images//x", "empty"),
    ("images/./x", "'.'"),
    ("/", "is empty"),
    ("", "is empty"),
    ("images/a b/vmlinuz", "outside"),
    ("images/x\nKERNEL", "outside"),
    ("images/x}", "outside"),
    ("images\\..\\x", "outside"),
    (7, "must be a string"),
])
def test_root_path_rejects(value, fragment):
    assert fragment in cs.check_root_path(value)


@pytest.mark.parametrize("value", ["images/rhel95/vmlinuz", "/images/rhel95/vmlinuz", "a/.b..c/x-1+2,3=4@5~6"])
def test_root_path_accepts(value):
    assert cs.check_root_path(value) is None


@pytest.mark.parametrize("value,fragment", [
    ("a\nb", "white space"), ("a b", "white space"), ("a\tb", "white space"), ("", "is empty"),
    ("quiet}", "contains }"), ("x{", "contains {"), ('a="b"', 'contains "'), ("a\\b", "contains \\"),
    ("a;b", "contains ;"), ("a`id`", "contains `"), ("a|b", "contains |"), ("#x", "contains #"),
    ("ä=1", "non-ASCII"), ("x" * 1025, "at most 1024"), (None, "must be a string"),
])
def test_kernel_word_rejects(value, fragment):
    assert fragment in cs.check_kernel_word(value)


@pytest.mark.parametrize("value", ["quiet", "inst.ks=http://x/ks?a=1&b=$2", "it's", "console=ttyS0,115200n8",
                                   "inst.repo=nfs:srv:/export/rhel", "rd.driver.pre=mlx5_ib,ib_ipoib"])
def test_kernel_word_accepts(value):
    assert cs.check_kernel_word(value) is None


def test_module_name():
    assert cs.check_module_name("mlx5_ib") is None
    assert "kernel module name" in cs.check_module_name("mlx5_ib,evil=1")


def test_keyfile_value():
    assert cs.check_keyfile_value("cluster.example;") is None
    assert cs.check_keyfile_value(True) is None
    assert "one line" in cs.check_keyfile_value("a\n[ipv4]\nmethod=disabled")


@pytest.mark.parametrize("value,quoted", [
    ("cluster.example", '"cluster.example"'),
    ('cluster.example"; deny booting; #', '"cluster.example\\"; deny booting; #"'),
    ("back\\slash", '"back\\\\slash"'),
    ("two\nlines\x00", '"two\\012lines\\000"'),
])
def test_dhcpd_string_escapes(value, quoted):
    assert cs.dhcpd_string(value) == quoted


@pytest.mark.parametrize("value,word", [
    ("plain=1,2:3/4", "plain=1,2:3/4"),
    ("it's", "'it'\\''s'"),
    ("a}b{$c;d", "'a}b{$c;d'"),
])
def test_grub_word(value, word):
    assert cs.grub_word(value) == word


def test_grub_word_refuses_a_newline():
    with pytest.raises(cs.ConfigSyntaxError, match="line break"):
        cs.grub_word("a\nb")


def test_require_names_field_and_value():
    with pytest.raises(cs.ConfigSyntaxError, match=r"^title: 'a\\nb' contains a line break"):
        cs.config_line("a\nb", "title")
    assert cs.config_line("ok", "title") == "ok"
