"""Name pools and transliteration for the synthetic contact base: Russian names (with patronymics and feminine
surnames) in four Latin spellings (passport, common, German, French: Ivanov / Iwanow / Ivanoff, Юлия / Iuliia /
Yulia / Julia) and English names with their usual Cyrillic spelling."""

from __future__ import annotations

CYR_LOWER = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
LAT_LOWER = "abcdefghijklmnopqrstuvwxyz"

RU_MALE = ("Александр", "Алексей", "Андрей", "Антон", "Артём", "Борис", "Вадим", "Василий", "Виктор", "Владимир",
           "Дмитрий", "Евгений", "Егор", "Иван", "Игорь", "Илья", "Кирилл", "Константин", "Максим", "Михаил",
           "Николай", "Олег", "Павел", "Пётр", "Роман", "Сергей", "Станислав", "Степан", "Юрий", "Ярослав")
RU_FEMALE = ("Анастасия", "Анна", "Валентина", "Вера", "Виктория", "Галина", "Дарья", "Екатерина", "Елена",
             "Елизавета", "Ирина", "Ксения", "Лариса", "Людмила", "Марина", "Мария", "Наталья", "Надежда", "Нина",
             "Оксана", "Ольга", "Полина", "Светлана", "София", "Татьяна", "Юлия", "Яна")
RU_LAST = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров",
    "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев",
    "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев",
    "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв",
    "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов",
    "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев", "Герасимов", "Богданов", "Осипов", "Сидоров",
    "Матвеев", "Титов", "Марков", "Миронов", "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов",
    "Гаврилов", "Тихонов", "Казаков", "Афанасьев", "Данилов", "Савельев", "Тимофеев", "Фомин", "Чернов", "Абрамов",
    "Мартынов", "Ефимов", "Федотов", "Щербаков", "Назаров", "Калинин", "Исаев", "Чернышёв", "Быков", "Маслов",
    "Родионов", "Коновалов", "Лазарев", "Воронин", "Климов", "Филатов", "Пономарёв", "Голубев", "Кудрявцев",
    "Прохоров", "Наумов", "Потапов", "Журавлёв", "Овчинников", "Трофимов", "Леонов", "Соболев", "Ермаков",
    "Колесников", "Гончаров", "Емельянов", "Никифоров", "Грачёв", "Котов", "Гришин", "Ефремов", "Архипов", "Громов",
    "Кириллов", "Малышев", "Панов", "Моисеев", "Румянцев", "Акимов", "Кондратьев", "Бирюков", "Горбунов",
    "Анисимов", "Ерёмин", "Тихомиров", "Галкин", "Лукьянов", "Михеев", "Скворцов", "Юдин", "Белоусов", "Нестеров",
    "Симонов", "Прокофьев", "Харитонов", "Князев", "Цветков", "Левин", "Митрофанов", "Воронцов", "Аксёнов",
    "Мальцев", "Логинов", "Горшков", "Савин", "Краснов", "Майоров", "Демидов", "Елисеев", "Рыбаков", "Сафонов",
    "Плотников", "Дёмин", "Хохлов", "Жданов", "Руденко", "Шевченко", "Черных", "Ким", "Достоевский", "Вишневский",
    "Ковальчук", "Юсупов", "Шапиро", "Цой",
)
EN_CYRILLIC = {
    # male first names
    "James": "Джеймс", "John": "Джон", "Robert": "Роберт", "Michael": "Майкл", "William": "Уильям",
    "David": "Дэвид", "Richard": "Ричард", "Joseph": "Джозеф", "Thomas": "Томас", "Charles": "Чарльз",
    "Daniel": "Дэниел", "Matthew": "Мэттью", "Mark": "Марк", "Steven": "Стивен", "Paul": "Пол", "Andrew": "Эндрю",
    "Kevin": "Кевин", "Brian": "Брайан", "George": "Джордж", "Peter": "Питер", "Henry": "Генри",
    # female first names
    "Mary": "Мэри", "Patricia": "Патриция", "Jennifer": "Дженнифер", "Linda": "Линда", "Elizabeth": "Элизабет",
    "Barbara": "Барбара", "Susan": "Сьюзан", "Jessica": "Джессика", "Sarah": "Сара", "Karen": "Карен",
    "Nancy": "Нэнси", "Lisa": "Лиза", "Margaret": "Маргарет", "Emily": "Эмили", "Michelle": "Мишель",
    "Laura": "Лора", "Rachel": "Рэйчел", "Julia": "Джулия", "Helen": "Хелен", "Olivia": "Оливия", "Emma": "Эмма",
    # surnames
    "Smith": "Смит", "Johnson": "Джонсон", "Williams": "Уильямс", "Brown": "Браун", "Jones": "Джонс",
    "Miller": "Миллер", "Davis": "Дэвис", "Wilson": "Уилсон", "Anderson": "Андерсон", "Taylor": "Тейлор",
    "Moore": "Мур", "Jackson": "Джексон", "Martin": "Мартин", "Lee": "Ли", "Thompson": "Томпсон",
    "White": "Уайт", "Harris": "Харрис", "Clark": "Кларк", "Lewis": "Льюис", "Robinson": "Робинсон",
    "Walker": "Уокер", "Young": "Янг", "Allen": "Аллен", "King": "Кинг", "Wright": "Райт", "Scott": "Скотт",
    "Hill": "Хилл", "Green": "Грин", "Adams": "Адамс", "Baker": "Бейкер", "Nelson": "Нельсон",
    "Carter": "Картер", "Mitchell": "Митчелл", "Roberts": "Робертс", "Turner": "Тёрнер", "Campbell": "Кэмпбелл",
    "Parker": "Паркер", "Evans": "Эванс", "Edwards": "Эдвардс", "Collins": "Коллинз", "Stewart": "Стюарт",
    "Morris": "Моррис", "Murphy": "Мёрфи", "Cook": "Кук", "Cooper": "Купер", "Peterson": "Петерсон",
}
EN_MALE = ("James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
           "Daniel", "Matthew", "Mark", "Steven", "Paul", "Andrew", "Kevin", "Brian", "George", "Peter", "Henry")
EN_FEMALE = ("Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
             "Nancy", "Lisa", "Margaret", "Emily", "Michelle", "Laura", "Rachel", "Julia", "Helen", "Olivia", "Emma")
EN_LAST = tuple(name for name in EN_CYRILLIC if name not in EN_MALE and name not in EN_FEMALE)

_BASE = dict(zip("абвгдезиклмнопрстуф", "abvgdeziklmnoprstuf", strict=True))
# scheme: (letters, endings applied to the word's end before the letters)
SCHEMES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "passport": (  # ICAO 9303, Russian passports since 2013: Iuliia, Ivanov, Kuznetsov
        {**_BASE, "ё": "e", "ж": "zh", "й": "i", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
         "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia"},
        {},
    ),
    "common": (  # what people write: Yulia, Yuriy, Natalya, Aleksey
        {**_BASE, "ё": "yo", "ж": "zh", "й": "y", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch",
         "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya"},
        {"ия": "ia", "ий": "iy"},
    ),
    "german": (  # Iwanow, Julia, Juri, Tschernow
        {**_BASE, "в": "w", "з": "s", "ё": "jo", "ж": "sch", "й": "j", "х": "ch", "ц": "z", "ч": "tsch",
         "ш": "sch", "щ": "schtsch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "ju", "я": "ja"},
        {"ия": "ia", "ий": "i", "ов": "ow", "ев": "ew", "ова": "owa", "ева": "ewa"},
    ),
    "french": (  # Ivanoff, Ioulia, Tchernoff
        {**_BASE, "ё": "io", "ж": "j", "й": "i", "у": "ou", "х": "kh", "ц": "ts", "ч": "tch", "ш": "ch",
         "щ": "chtch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "iou", "я": "ia"},
        {"ия": "ia", "ов": "off", "ев": "eff", "ёв": "ioff", "ий": "i"},
    ),
}


def transliterate(text: str, scheme: str) -> str:
    """Russian text in Latin letters by one scheme; word endings first (Ivanoff), then letter by letter."""
    letters, endings = SCHEMES[scheme]
    words = []
    for word in text.split(" "):
        lower = word.lower()
        tail = ""
        for ending in sorted(endings, key=len, reverse=True):
            if lower.endswith(ending) and len(lower) > len(ending) + 1:
                lower, tail = lower[: -len(ending)], endings[ending]
                break
        latin = "".join(letters.get(ch, ch) for ch in lower) + tail
        words.append(latin[:1].upper() + latin[1:] if word[:1].isupper() else latin)
    return " ".join(words)


def to_cyrillic(name: str) -> str:
    """The usual Russian spelling of an English name of the pools."""
    return EN_CYRILLIC.get(name, name)


def feminine(surname: str) -> str:
    """A wife's or daughter's form of a Russian surname (Иванов → Иванова, Вишневский → Вишневская)."""
    if surname.endswith(("ский", "цкий")):
        return surname[:-2] + "ая"
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


_PATRONYMIC = {"Илья": ("Ильич", "Ильинична"), "Василий": ("Васильевич", "Васильевна"),
               "Юрий": ("Юрьевич", "Юрьевна"), "Евгений": ("Евгеньевич", "Евгеньевна"),
               "Пётр": ("Петрович", "Петровна"), "Павел": ("Павлович", "Павловна")}


def patronymic(father: str, female: bool) -> str:
    """Отчество from the father's first name."""
    if father in _PATRONYMIC:
        return _PATRONYMIC[father][female]
    if father.endswith(("ий", "ей", "ай", "ь")):
        stem, suffix = father[:-1], ("евич", "евна")
    else:
        stem, suffix = father, ("ович", "овна")
    return stem + suffix[female]
