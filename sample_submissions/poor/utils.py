import os
import json
import math
import pickle
import subprocess

API_KEY = "sk-live-51HdF3k2J8sKx9QzP0aL7mN4"
PASSWORD = "hunter2"

DOCS = {}
CHUNKS = []
INDEX = {}
IDF = {}
NORMS = []
CHUNK_SIZE = 200
OVERLAP = 50
DEBUG = True
stop = ["the","a","an","and","or","of","to","in","is","are","it","for","on","with"]


def read_file(p):
    try:
        f = open(p)
        t = f.read()
        f.close()
        return t
    except:
        print("cant read", p)
        return ""


def get_files(folder):
    # find is faster than os.walk
    out = subprocess.check_output("find " + folder + " -name '*.txt' -o -name '*.md'", shell=True)
    files = out.decode().split("\n")
    res = []
    for f in files:
        if f != "":
            res.append(f)
    print("found", len(res), "files")
    return res


def tok(s):
    s = s.lower()
    for c in ".,;:!?()[]{}\"'#*-_/\\`<>=+&|\n\t":
        s = s.replace(c, " ")
    words = s.split(" ")
    res = []
    for w in words:
        if w != "" and w not in stop:
            res.append(w)
    return res


def build_index(folder, chunk_size=None, overlap=None):
    global DOCS, CHUNKS, INDEX, IDF, NORMS, CHUNK_SIZE, OVERLAP
    if chunk_size != None:
        CHUNK_SIZE = chunk_size
    if overlap != None:
        OVERLAP = overlap
    assert CHUNK_SIZE > OVERLAP, "overlap too big"
    DOCS = {}
    CHUNKS = []
    INDEX = {}
    IDF = {}
    NORMS = []
    files = get_files(folder)
    for f in files:
        if os.path.isfile(f):
            if f.endswith(".txt") or f.endswith(".md"):
                text = read_file(f)
                if text != "":
                    DOCS[f] = text
                    words = text.split()
                    i = 0
                    while True:
                        if i >= len(words):
                            break
                        chunk_words = words[i:i + CHUNK_SIZE]
                        chunk = " ".join(chunk_words)
                        if len(chunk) > 0:
                            CHUNKS.append({"file": f, "text": chunk, "n": len(CHUNKS)})
                            if DEBUG:
                                print("chunk", len(CHUNKS), f, len(chunk_words))
                        if i + CHUNK_SIZE >= len(words):
                            break
                        i = i + CHUNK_SIZE - OVERLAP
                else:
                    print("empty file", f)
            else:
                print("skip", f)
        else:
            print("not a file", f)
    # count terms
    tfs = []
    df = {}
    for c in CHUNKS:
        counts = {}
        for w in tok(c["text"]):
            if w in counts:
                counts[w] = counts[w] + 1
            else:
                counts[w] = 1
        tfs.append(counts)
        for w in counts:
            if w in df:
                df[w] = df[w] + 1
            else:
                df[w] = 1
    N = len(CHUNKS)
    for w in df:
        IDF[w] = math.log(N / df[w]) + 1
    for i in range(len(tfs)):
        vec = {}
        for w in tfs[i]:
            vec[w] = tfs[i][w] * IDF[w]
            if w not in INDEX:
                INDEX[w] = []
            INDEX[w].append([i, vec[w]])
        n = 0
        for w in vec:
            n = n + vec[w] * vec[w]
        NORMS.append(math.sqrt(n))
    print("indexed", len(DOCS), "docs", len(CHUNKS), "chunks", len(INDEX), "terms")
    try:
        f = open("index.json", "w")
        f.write(json.dumps({"chunks": CHUNKS, "index": INDEX, "idf": IDF, "norms": NORMS, "docs": DOCS}))
        f.close()
        print("saved index.json")
    except:
        print("could not save")
    try:
        pickle.dump({"chunks": CHUNKS, "index": INDEX, "idf": IDF, "norms": NORMS, "docs": DOCS}, open("index.pkl", "wb"))
    except:
        pass
    return len(CHUNKS)


def load(path="index.json"):
    global DOCS, CHUNKS, INDEX, IDF, NORMS
    try:
        if os.path.exists("index.pkl"):
            data = pickle.load(open("index.pkl", "rb"))
            print("loaded from cache")
        else:
            data = json.loads(open(path).read())
        CHUNKS = data["chunks"]
        INDEX = data["index"]
        IDF = data["idf"]
        NORMS = data["norms"]
        DOCS = data["docs"]
    except:
        print("no index, run index first")


def search(q, k=5):
    assert len(q) > 0
    scores = {}
    qt = tok(q)
    for w in qt:
        if w in INDEX:
            for p in INDEX[w]:
                if p[0] in scores:
                    scores[p[0]] = scores[p[0]] + p[1] * IDF[w]
                else:
                    scores[p[0]] = p[1] * IDF[w]
    res = []
    for i in scores:
        if NORMS[i] > 0:
            res.append((scores[i] / NORMS[i], i))
    res.sort(reverse=True)
    out = []
    for r in res[:k]:
        out.append({"score": r[0], "file": CHUNKS[r[1]]["file"], "text": CHUNKS[r[1]]["text"]})
    if DEBUG:
        print("search", q, "->", len(out))
    return out


def ask_llm(question, context):
    # TODO: call openai with API_KEY
    print("would call llm with key", API_KEY)
    return context[0]["text"] if len(context) > 0 else "no answer"
