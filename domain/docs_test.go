package domain

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocs_DomainMD: docs/DOMAIN.md names every command, every event type
// and every rule code of the package, so the reference cannot drift.
func TestDocs_DomainMD(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "DOMAIN.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	pkg, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range CommandNames() {
		if !strings.Contains(text, "`"+name+"`") {
			t.Errorf("docs/DOMAIN.md does not name command %s", name)
		}
		if !strings.Contains(string(pkg), "//\t"+name+" ") {
			t.Errorf("the package doc does not list command %s", name)
		}
	}
	for _, typ := range Events.Types() {
		if !strings.Contains(text, "`"+typ+"`") {
			t.Errorf("docs/DOMAIN.md does not name event %s", typ)
		}
	}
	codes := regexp.MustCompile(`rule\("([a-z.-]+)"`)
	files, _ := filepath.Glob("*.go")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range codes.FindAllStringSubmatch(string(src), -1) {
			n++
			if !strings.Contains(text, "`"+m[1]+"`") {
				t.Errorf("docs/DOMAIN.md does not name rule %s (%s)", m[1], f)
			}
		}
	}
	if n < 30 {
		t.Fatalf("found %d rule codes in the sources: the pattern no longer matches", n)
	}
}
