package declaration

import (
	"context"
	"testing"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// Declarations a volunteer fills in for others: a phone is not a person.
// Two grandparents declared with their son's phone get two people, two
// cards with their own names and different QR tokens; a stranger's phone
// typed with another name yields a card with the declared name, for a
// person who is not the phone's owner; the same resident declared again
// is the same person; a retry of a client id is answered as one.
func TestSubmitAssisted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(t, db)
		in := func(id, name string, born int, phone string) Input {
			i := valid()
			i.ID, i.Name, i.BirthYear, i.Phone = id, name, born, phone
			return i
		}
		// The son declares himself on the public form: the phone is his.
		son, err := s.Submit(ctx, in("", "Lê Văn Sơn", 1975, "0912345678"), 0)
		if err != nil {
			t.Fatal(err)
		}
		gm, err := s.SubmitAssisted(ctx, in("door-aaaaaaaa-1", "Nguyễn Thị Bà", 1945, "0912 345 678"))
		if err != nil {
			t.Fatal(err)
		}
		gf, err := s.SubmitAssisted(ctx, in("door-aaaaaaaa-2", "Lê Văn Ông", 1943, "0912345678"))
		if err != nil {
			t.Fatal(err)
		}
		stranger, err := s.SubmitAssisted(ctx, in("door-aaaaaaaa-3", "Kẻ Mạo Danh", 1990, "0912345678"))
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.SubmitAssisted(ctx, in("door-aaaaaaaa-4", "NGUYEN THI BA", 1945, "0912345678"))
		if err != nil {
			t.Fatal(err)
		}
		self, err := s.SubmitAssisted(ctx, in("door-aaaaaaaa-5", "Lê Văn Sơn", 1975, "0912345678"))
		if err != nil {
			t.Fatal(err)
		}
		persons := map[int64]string{}
		for name, r := range map[string]Result{"grandmother": gm, "grandfather": gf, "stranger": stranger} {
			if r.PersonID == son.PersonID || r.Token != "" || r.Proof != Unproven {
				t.Errorf("%s: person %d (the phone's owner is %d), token %q, proof %d", name, r.PersonID, son.PersonID, r.Token, r.Proof)
			}
			if other, dup := persons[r.PersonID]; dup {
				t.Errorf("%s and %s are one person %d", name, other, r.PersonID)
			}
			persons[r.PersonID] = name
		}
		if again.PersonID != gm.PersonID {
			t.Errorf("the grandmother declared again (name typed without diacritics) is person %d, want %d", again.PersonID, gm.PersonID)
		}
		if self.PersonID != son.PersonID {
			t.Errorf("the son declared with help is person %d, want %d", self.PersonID, son.PersonID)
		}
		// A retry of the grandfather's client id: the same declaration, not a conflict.
		if r, err := s.SubmitAssisted(ctx, in("door-aaaaaaaa-2", "Lê Văn Ông", 1943, "0912345678")); err != nil || r.ID != gf.ID || r.Created {
			t.Errorf("retry: %+v %v", r, err)
		}
		cards, err := s.Cards(ctx, []int64{gm.ID, gf.ID, stranger.ID})
		if err != nil {
			t.Fatal(err)
		}
		tokens := map[string]bool{}
		for id, want := range map[int64]string{gm.ID: "Nguyễn Thị Bà", gf.ID: "Lê Văn Ông", stranger.ID: "Kẻ Mạo Danh"} {
			c := cards[id]
			if c.Name != want {
				t.Errorf("card of declaration %d names %q, want %q", id, c.Name, want)
			}
			claims, err := s.Verify(c.Token)
			if err != nil || claims.PersonID == son.PersonID || claims.DeclarationID != id || claims.Proof != Unproven {
				t.Errorf("card of %s: %+v %v", want, claims, err)
			}
			tokens[c.Token] = true
		}
		if len(tokens) != 3 {
			t.Errorf("tokens: %d distinct, want 3", len(tokens))
		}
		// The phone still finds its owner alone.
		if ids, err := s.People.ByPhone(ctx, "0912345678"); err != nil || len(ids) != 1 || ids[0] != son.PersonID {
			t.Errorf("by phone: %v %v", ids, err)
		}
	})
}
