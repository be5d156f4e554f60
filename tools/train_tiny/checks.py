"""The held-out checks, as the gate's C code (drivers/gate/checks.c) applies
them; this copy scores answers on the training machine.

  number N    the last whole number in the answer is N
  words W..   the answer's words (letters only, lower case) are exactly W..
  keyword A|B one alternative occurs as a whole word, any case
  python NAME the code (the first ``` block, or the whole answer) defines
              NAME with a body; here ast.parse must accept it as well
  poem WORD   exactly four non-empty lines, WORD among them as a whole word"""
import ast
import re


def code_of(answer):
    m = re.search(r"```[a-zA-Z]*\n(.*?)```", answer, re.S)
    return m.group(1) if m else answer


def check(kind, want, answer):
    if kind == "number":
        nums = re.findall(r"(?<![\w.])-?\d+(?![\d])", answer)
        return bool(nums) and nums[-1] == want
    if kind == "words":
        return re.findall(r"[a-z]+", answer.lower()) == want.split()
    if kind == "keyword":
        low = answer.lower()
        return any(re.search(r"(?<![a-z0-9])" + re.escape(k) + r"(?![a-z0-9])", low) for k in want.split("|"))
    if kind == "python":
        code = code_of(answer)
        try:
            tree = ast.parse(code)
        except SyntaxError:
            return False
        return any(isinstance(n, ast.FunctionDef) and n.name == want for n in ast.walk(tree))
    if kind == "poem":
        lines = [ln for ln in answer.strip().split("\n") if ln.strip()]
        low = answer.lower()
        return len(lines) == 4 and re.search(r"(?<![a-z])" + re.escape(want.lower()) + r"(?![a-z])", low) is not None
    raise ValueError(kind)


def load_heldout(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        i, task, kind, want, prompt = line.rstrip("\n").split("\t")
        rows.append({"id": int(i), "task": task, "check": kind, "want": want, "prompt": prompt})
    return rows
