package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scelle-ledger/scelle/api"
)

func init() {
	register("admin", "manage agencies, users and tokens (bootstrap, agency, user, token)", runAdmin)
}

const adminUsage = `usage: scelle admin SUBCOMMAND [flags]

subcommands:
  bootstrap     create the admin agency, an admin user and print their first token
  agency add    --code CODE --name NAME --country CC --kind KIND
  agency list
  user add      --id ID --agency CODE --roles officer[,custodian...] [--name NAME]
  user list     [--agency CODE]
  user disable  --id ID
  user enable   --id ID
  token create  --user ID [--ttl 720h] [--label TEXT]   (the token is shown once)
  token list    [--user ID]
  token revoke  --id TOKEN_ID

Every subcommand takes --data DIR (env SCELLE_DATA, default ./data) and
--json for machine-readable output. Tokens are stored hashed (SHA-256).
Roles: officer, custodian, analyst, magistrate, auditor, admin.
`

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, adminUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	name := args[0]
	rest := args[1:]
	if name != "bootstrap" {
		if len(args) < 2 {
			fmt.Fprint(stderr, adminUsage)
			return 2
		}
		name, rest = args[0]+" "+args[1], args[2:]
	}
	sub, ok := adminCommands[name]
	if !ok {
		fmt.Fprintf(stderr, "scelle admin: unknown subcommand %q\n\n%s", name, adminUsage)
		return 2
	}
	fs := flag.NewFlagSet("admin "+name, flag.ContinueOnError)
	data := fs.String("data", env("SCELLE_DATA", "./data"), "data directory (env SCELLE_DATA)")
	asJSON := fs.Bool("json", false, "print JSON")
	run := sub(fs)
	if code, ok := parseFlags(fs, rest, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scelle admin %s: unexpected argument %q\n", name, fs.Arg(0))
		return 2
	}
	if err := os.MkdirAll(*data, 0o750); err != nil {
		fmt.Fprintf(stderr, "scelle admin %s: %v\n", name, err)
		return 1
	}
	auth, err := api.OpenAuthStore(ctx, filepath.Join(*data, authFile))
	if err != nil {
		fmt.Fprintf(stderr, "scelle admin %s: %v\n", name, err)
		return 1
	}
	defer auth.Close()
	out := &adminOut{w: stdout, json: *asJSON}
	if err := run(ctx, auth, out); err != nil {
		fmt.Fprintf(stderr, "scelle admin %s: %v\n", name, err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

var errUsage = errors.New("missing flag")

type adminOut struct {
	w    io.Writer
	json bool
}

func (o *adminOut) emit(v any, text func(w io.Writer)) {
	if o.json {
		enc := json.NewEncoder(o.w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
		return
	}
	text(o.w)
}

type adminRun func(ctx context.Context, auth *api.AuthStore, out *adminOut) error

func required(flags map[string]*string) error {
	var missing []string
	for n, v := range flags {
		if strings.TrimSpace(*v) == "" {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", errUsage, strings.Join(missing, ", "))
	}
	return nil
}

var adminCommands = map[string]func(fs *flag.FlagSet) adminRun{
	"bootstrap": func(fs *flag.FlagSet) adminRun {
		code := fs.String("agency", "SCELLE-ADMIN", "code of the administrators' agency")
		country := fs.String("country", "MA", "country of the administrators' agency")
		id := fs.String("user", "admin", "id of the admin user")
		ttl := fs.Duration("ttl", 30*24*time.Hour, "token lifetime")
		return func(ctx context.Context, auth *api.AuthStore, out *adminOut) error {
			now := time.Now()
			err := auth.AddAgency(ctx, api.Agency{Code: *code, Name: "scelle administrators", Country: *country, Kind: "administration"}, now)
			if err != nil && !errors.Is(err, api.ErrExists) {
				return err
			}
			err = auth.AddUser(ctx, api.User{ID: *id, Agency: *code, Name: "administrator", Roles: []string{api.RoleAdmin}}, now)
			if err != nil && !errors.Is(err, api.ErrExists) {
				return err
			}
			return issue(ctx, auth, out, *id, "bootstrap", *ttl)
		}
	},
	"agency add": func(fs *flag.FlagSet) adminRun {
		var a api.Agency
		fs.StringVar(&a.Code, "code", "", "agency code, e.g. MA-DOUANE-TGM")
		fs.StringVar(&a.Name, "name", "", "agency name")
		fs.StringVar(&a.Country, "country", "", "ISO 3166-1 alpha-2 country code, e.g. MA, FR")
		fs.StringVar(&a.Kind, "kind", "", "customs, police, lab, prosecutor, court, registry...")
		return func(ctx context.Context, auth *api.AuthStore, out *adminOut) error {
			if err := required(map[string]*string{"code": &a.Code, "name": &a.Name, "country": &a.Country, "kind": &a.Kind}); err != nil {
				return err
			}
			if err := auth.AddAgency(ctx, a, time.Now()); err != nil {
				return err
			}
			out.emit(a, func(w io.Writer) { fmt.Fprintf(w, "agency %s added\n", a.Code) })
			return nil
		}
	},
	"agency list": func(fs *flag.FlagSet) adminRun {
		return func(ctx context.Context, auth *api.AuthStore, out *adminOut) error {
			as, err := auth.Agencies(ctx)
			if err != nil {
				return err
			}
			out.emit(as, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CODE\tCOUNTRY\tKIND\tNAME")
				for _, a := range as {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Code, a.Country, a.Kind, a.Name)
				}
				tw.Flush()
			})
			return nil
		}
	},
	"user add": func(fs *flag.FlagSet) adminRun {
		var u api.User
		var roles string
		fs.StringVar(&u.ID, "id", "", "user id, e.g. nadia")
		fs.StringVar(&u.Agency, "agency", "", "agency code")
		fs.StringVar(&u.Name, "name", "", "display name (default: the id)")
		fs.StringVar(&roles, "roles", "", "comma-separated roles: officer, custodian, analyst, magistrate, auditor, admin")
		return func(ctx context.Context, auth *api.AuthStore, out *adminOut) error {
			if err := required(map[string]*string{"id": &u.ID, "agency": &u.Agency, "roles": &roles}); err != nil {
				return err
			}
			for _, r := range strings.Split(roles, ",") {
				if r = strings.TrimSpace(r); r != "" {
					u.Roles = append(u.Roles, r)
				}
			}
			if err := auth.AddUser(ctx, u, time.Now()); err != nil {
				return err
			}
			out.emit(u, func(w io.Writer) {
				fmt.Fprintf(w, "user %s added to %s (%s)\n", u.ID, u.Agency, strings.Join(u.Roles, ", "))
			})
			return nil
		}
	},
	"user list": func(fs *flag.FlagSet) adminRun {
		agency := fs.String("agency", "", "only this agency's users")
		return func(ctx context.Context, auth *api.AuthStore, out *adminOut) error {
			us, err := auth.Users(ctx, *agency)
			if err != nil {
				return err
			}
			out.emit(us, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tAGENCY\tROLES\tDISABLED\tNAME")
				for _, u := range us {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", u.ID, u.Agency, strings.Join(u.Roles, ","), u.Disabled, u.Name)
				}
				tw.Flush()
			})
			return nil
		}
	},
	"user disable": func(fs *flag.FlagSet) adminRun { return setDisabled(fs, true) },
	"user enable":  func(fs *flag.FlagSet) adminRun { return setDisabled(fs, false) },
	"token create": func(fs *flag.FlagSet) adminRun {
		user := fs.String("user", "", "user id")
		label := fs.String("label", "", "what the token is for")
		ttl := fs.Duration("ttl", 30*24*time.Hour, "lifetime, e.g. 720h")
		return func(ctx context.Context, auth *api.AuthStore, out *adminOut) error {
			if err := required(map[string]*string{"user": user}); err != nil {
				return err
			}
			return issue(ctx, auth, out, *user, *label, *ttl)
		}
	},
	"token list": func(fs *flag.FlagSet) adminRun {
		user := fs.String("user", "", "only this user's tokens")
		return func(ctx context.Context, auth *api.AuthStore, out *adminOut) error {
			ts, err := auth.Tokens(ctx, *user)
			if err != nil {
				return err
			}
			out.emit(ts, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tUSER\tEXPIRES\tREVOKED\tLABEL")
				for _, t := range ts {
					rev := "-"
					if t.Revoked != nil {
						rev = t.Revoked.Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.UserID, t.Expires.Format(time.RFC3339), rev, t.Label)
				}
				tw.Flush()
			})
			return nil
		}
	},
	"token revoke": func(fs *flag.FlagSet) adminRun {
		id := fs.String("id", "", "token id (tok_...), as token list shows it")
		return func(ctx context.Context, auth *api.AuthStore, out *adminOut) error {
			if err := required(map[string]*string{"id": id}); err != nil {
				return err
			}
			if err := auth.RevokeToken(ctx, *id, time.Now()); err != nil {
				return err
			}
			out.emit(map[string]string{"revoked": *id}, func(w io.Writer) { fmt.Fprintf(w, "token %s revoked\n", *id) })
			return nil
		}
	},
}

func setDisabled(fs *flag.FlagSet, disabled bool) adminRun {
	id := fs.String("id", "", "user id")
	return func(ctx context.Context, auth *api.AuthStore, out *adminOut) error {
		if err := required(map[string]*string{"id": id}); err != nil {
			return err
		}
		if err := auth.SetUserDisabled(ctx, *id, disabled); err != nil {
			return err
		}
		out.emit(map[string]any{"user": *id, "disabled": disabled}, func(w io.Writer) {
			fmt.Fprintf(w, "user %s disabled=%v\n", *id, disabled)
		})
		return nil
	}
}

func issue(ctx context.Context, auth *api.AuthStore, out *adminOut, user, label string, ttl time.Duration) error {
	t, secret, err := auth.IssueToken(ctx, user, label, ttl, time.Now())
	if err != nil {
		return err
	}
	out.emit(struct {
		api.Token
		Secret string `json:"token"`
	}{t, secret}, func(w io.Writer) {
		fmt.Fprintf(w, "token %s for %s, expires %s\n(shown once; store it now)\n%s\n", t.ID, user, t.Expires.Format(time.RFC3339), secret)
	})
	return nil
}
