"""Word sets that steer person-name detection (doppel.redact.names): the ones no package ships as such."""
from __future__ import annotations

# English first names that are also common words: a name only when the context says so (capitalised
# mid-sentence, a surname after it, a title before it), never at a sentence start alone.
COMMON_FIRST_EN = frozenset("""
will mark may june rose bill grace hope art max frank pat april august summer dawn faith joy ray guy jack sky
sun star amber page case miles rich chase lane grant hunter king major young bob ben dean chuck ginger penny
carol eve jan don matt sam holly ivy iris lily daisy ruby pearl crystal autumn winter storm river sandy misty
melody honey sunny angel lucky buddy rocky cliff dale glen heath wood stone bell gay merry charity patience
prudence constance chance destiny harmony trinity happy christian earl baron duke prince princess marshal
sterling victor royal noble gene herb rod tim bud lee kim sue rusty skip will chip norman miles wade reed
""".split())
MONTHS_DAYS_EN = frozenset("""
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday christmas easter halloween
""".split())
# words that are never a name part, whatever the lists say (English function words, pronouns)
STOP_EN = frozenset("""
i a an the and or but if so of in on at to for by with from up out as is are was were be been am do does did
not no yes it its he she we you they me him her us them my your our their his this that these those there here
what who why how when where which hi hey hello dear thanks thank please ok okay sorry yes well oh
""".split())
# before a capitalised first name with no surname after it: a place ("in Georgia", "near Victoria")
PLACE_PREP_EN = frozenset("in at near around across outside inside via".split())
# "<one of these> to <first name>" is a trip, not a person ("moved to Austin", "flights to Paris")
MOTION_EN = frozenset("""
move moved moving go going went gone fly flew flying flight flights trip trips travel traveled travelled
traveling travelling drive drove driving ticket tickets relocate relocated relocating return returned way road
train bus visit
""".split())
DETERMINERS_EN = frozenset("the a an this that my your our their his her its every each no some any".split())
# before a capitalised word: a person ("Mrs. Okafor", "Dr Stone"); the title itself is kept
TITLES = frozenset("""
mr mrs ms miss mx dr prof professor sir dame lady lord captain capt officer detective sgt sergeant
господин госпожа гражданин гражданка доктор профессор
""".split())
# Russian words with a first-name parse that are far more often something else: never a name alone, only
# next to another part of a name ("Вера Павловна") or capitalised mid-sentence ("у Веры").
AMBIGUOUS_RU = frozenset("""
вера надежда любовь лев роза мир роман слава лилия ника мила маргарита виктория алиса победа заря
""".split())
# a word after these is a place named after someone ("улица Гагарина"), not a person
STREET_RU = frozenset("""
улица ул улице улицу улицей проспект пр проспекте проспекта площадь пл площади переулок пер переулке бульвар
бульваре шоссе набережная наб набережной метро станция станции им имени город городе города село посёлок
""".split())
# after these, a word that is also a place name is the place ("в Пушкине", "из Кирова"); "у Кирова" is a person
PLACE_PREP_RU = frozenset("в во из на до под над около возле через по".split())
# Russian words that may start a message and are never a name part, however pymorphy parses them
STOP_RU = frozenset("""
и а но да нет не ни что как так это то вот уже ещё еще или если по из за от до у с со к ко о об на в во
я ты он она мы вы они мне тебе ему ей нам вам им меня тебя его её нас вас их привет пока спасибо ладно
сид
""".split())
# first-name parses whose capitalised use is mostly a thing (planets, clubs): a name only next to another part
THINGS_RU = frozenset("венера марс юпитер сатурн спартак зенит торпедо динамо".split())
# before these a word with a name parse is a name in any case ("ИП белоусов", "ФИО: ...")
CUES_RU = frozenset("ип фио гражданин гражданка г-н г-жа".split())
# prepositions before a person: a lower-case word that is a name in half of its parses is one here
# ("вопрос к журавлёвой", "у сорокиной")
PERSON_PREP_RU = frozenset("к ко у с со от для про о об при".split())
# before a lower-case English first name alone: it is a person ("tell ivan", "with hannah")
ADDRESS_BEFORE_EN = frozenset("tell ask call text ping message email with to from for and cc dear hi hey thanks by".split())
# pet-name endings: "Алиночка" is "Алина", "Настюха" "Настя", "Колян" "Коля", "Димон" "Дима"
DIMINUTIVE_ENDS_RU = ("очка", "ечка", "енька", "онька", "юшка", "юша", "уша", "уля", "юля", "юха", "уха", "ян",
                      "ёк", "ок", "он", "ик", "ун", "ёна", "ёха", "юня", "уся", "юся", "ушка")
DIMINUTIVE_BASES_RU = ("а", "я", "ия", "")
