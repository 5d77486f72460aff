package dbsetup

import (
	"strings"
	"testing"
)

func TestScriptGrantsEachAppOnItsOwnDatabase(t *testing.T) {
	s, err := Script(Spec{Apps: []string{"api", "chat"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\\set ON_ERROR_STOP on",
		`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE "api" TO "api";`,
		"\\connect api\nGRANT USAGE, CREATE ON SCHEMA public TO \"api\";",
		"\\connect chat\nGRANT USAGE, CREATE ON SCHEMA public TO \"chat\";",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "CREATE ROLE") || strings.Contains(s, "CREATE DATABASE") {
		t.Errorf("without CreateMissing the script must not create users or databases (DigitalOcean does):\n%s", s)
	}
}

func TestScriptCreatesMissingWithPasswordsFromTheEnvironment(t *testing.T) {
	s, err := Script(Spec{Apps: []string{"archiver"}, CreateMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\\getenv password DBSETUP_PASSWORD_ARCHIVER", "CREATE ROLE %I LOGIN PASSWORD %L", "CREATE DATABASE %I", "\\gexec"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
}

func TestScriptRefusesNamesItCannotQuote(t *testing.T) {
	for _, bad := range []string{"", "Api", "api-db", `api"; DROP`, "1api"} {
		if _, err := Script(Spec{Apps: []string{bad}}); err == nil || !strings.Contains(err.Error(), "allowed:") {
			t.Errorf("app %q: want an error saying what is allowed, got %v", bad, err)
		}
	}
}
