from engine.memo import held_for


class Owner:
    pass


def test_a_value_is_built_once_per_owner_and_again_for_a_new_object_under_the_same_key():
    store: dict = {}
    built = []
    first, second = Owner(), Owner()

    def build():
        built.append(1)
        return len(built)

    assert held_for(store, "k", (first,), build, 4) == 1
    assert held_for(store, "k", (first,), build, 4) == 1
    assert held_for(store, "k", (second,), build, 4) == 2  # an id reused by a new object is not served the old value
    assert len(built) == 2


def test_the_oldest_entries_go_first_at_the_limit():
    store: dict = {}
    owner = Owner()
    for n in range(5):
        held_for(store, n, (owner,), lambda n=n: n, 3)
    assert list(store) == [2, 3, 4]


def test_every_owner_of_a_value_must_be_the_same_object():
    store: dict = {}
    fields, catalogs, other = Owner(), Owner(), Owner()
    assert held_for(store, "k", (fields, catalogs), lambda: 1, 4) == 1
    assert held_for(store, "k", (fields, catalogs), lambda: 2, 4) == 1
    assert held_for(store, "k", (fields, other), lambda: 3, 4) == 3  # one owner replaced: built again
    assert held_for(store, "k", (fields,), lambda: 4, 4) == 4  # fewer owners: not the same value
