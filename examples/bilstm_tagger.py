"""A named-entity tagger: Embedding -> 2-layer bidirectional LSTM -> Linear -> log_softmax,
trained with NLLLoss and Adam to tag every token of a sentence (the seed article's
BiLSTM tagger, written correctly: an ``nn.Embedding`` per token, not an EmbeddingBag).

Sentences of different lengths are padded into a batch and packed with
``pack_padded_sequence`` so the LSTM never reads the padding; the padded positions are
ignored by the loss. Reads CoNLL-format files (``-DOCSTART-`` lines, one token per line
with its tag in the last column, a blank line between sentences): by default the small
corpus in ``data/tagging`` (made by ``scripts/make_tagging_corpus.py``); the real
CoNLL-2003 works too (``--data`` holding ``train.conll`` and ``test.conll``, or
``--train``/``--test`` paths). Reports token accuracy and entity F1 on the test file.

    python examples/bilstm_tagger.py [--epochs 5] [--data data/tagging]

Set ``RTORCH_EXAMPLE_USE_TORCH=1`` to run the identical program on PyTorch.
"""

from __future__ import annotations

import argparse
import os
import random
import time

if os.environ.get("RTORCH_EXAMPLE_USE_TORCH") == "1":
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
else:
    import rtorch as torch
    import rtorch.nn.functional as F
    from rtorch import nn
    from rtorch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD, UNK = "<pad>", "<unk>"


def read_conll(path: str) -> list[tuple[list[str], list[str]]]:
    """Sentences as (tokens, tags); the tag is the last column of each line."""
    sentences, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0] == "-DOCSTART-":
                if words:
                    sentences.append((words, tags))
                words, tags = [], []
                continue
            words.append(parts[0])
            tags.append(parts[-1])
    if words:
        sentences.append((words, tags))
    return sentences


class BiLSTMTagger(nn.Module):
    def __init__(
        self, vocab_size: int, embedding_dim: int, hidden_dim: int, tagset_size: int
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.bilstm = nn.LSTM(
            embedding_dim,
            hidden_dim,
            num_layers=2,
            bidirectional=True,
            batch_first=True,
            dropout=0.1,
        )
        self.hidden2tag = nn.Linear(hidden_dim * 2, tagset_size)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.embedding(tokens)
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        output, _ = self.bilstm(packed)
        output, _ = pad_packed_sequence(output, batch_first=True, total_length=tokens.shape[1])
        return F.log_softmax(self.hidden2tag(output), dim=-1)


def batches(sentences, word_index, tag_index, batch_size, shuffle, rng, word_dropout=0.0):
    """Padded (tokens, targets, lengths) batches. In training, ``word_dropout`` of the
    words become <unk>, so that the model learns to tag unknown words by their context."""
    order = list(range(len(sentences)))
    if shuffle:
        rng.shuffle(order)
    for start in range(0, len(order), batch_size):
        chunk = [sentences[i] for i in order[start : start + batch_size]]
        longest = max(len(words) for words, _ in chunk)
        tokens = [
            [
                1 if word_dropout and rng.random() < word_dropout else word_index.get(w, 1)
                for w in words
            ]
            + [0] * (longest - len(words))
            for words, _ in chunk
        ]
        targets = [
            [tag_index[t] for t in tags] + [-100] * (longest - len(tags)) for _, tags in chunk
        ]
        lengths = [len(words) for words, _ in chunk]
        yield torch.tensor(tokens), torch.tensor(targets), torch.tensor(lengths)


def spans(tags: list[str]) -> set[tuple[str, int, int]]:
    """Entity spans (type, start, end) of a BIO tag sequence."""
    found, start, kind = set(), None, None
    for i, tag in enumerate(tags + ["O"]):
        continues = tag.startswith("I-") and kind == tag[2:]
        if start is not None and not continues:
            found.add((kind, start, i))
            start, kind = None, None
        if tag.startswith("B-") or (tag.startswith("I-") and start is None):
            start, kind = i, tag[2:]
    return found


def evaluate(model, sentences, word_index, tag_index, tags_by_index):
    model.eval()
    correct = total = 0
    tp = n_pred = n_gold = 0
    with torch.no_grad():
        for tokens, targets, lengths in batches(sentences, word_index, tag_index, 64, False, None):
            predictions = model(tokens, lengths).argmax(-1)
            mask = targets != -100
            correct += (predictions[mask] == targets[mask]).sum().item()
            total += mask.sum().item()
            for p, t, n in zip(predictions.tolist(), targets.tolist(), lengths.tolist()):
                gold = spans([tags_by_index[i] for i in t[:n]])
                pred = spans([tags_by_index[i] for i in p[:n]])
                tp += len(gold & pred)
                n_pred += len(pred)
                n_gold += len(gold)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return correct / max(total, 1), f1


def main() -> None:
    default = os.path.join(os.path.dirname(__file__), "..", "data", "tagging")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=default, help="folder with train/test .conll")
    parser.add_argument("--train", default=None)
    parser.add_argument("--test", default=None)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--smoke", action="store_true", help="a few batches, for tests")
    args = parser.parse_args()

    train = read_conll(args.train or os.path.join(args.data, "train.conll"))
    test = read_conll(args.test or os.path.join(args.data, "test.conll"))
    if args.smoke:
        train, test = train[:256], test[:64]
    words = sorted({w for ws, _ in train for w in ws})
    word_index = {PAD: 0, UNK: 1, **{w: i + 2 for i, w in enumerate(words)}}
    tags_by_index = sorted({t for _, ts in train + test for t in ts})
    tag_index = {t: i for i, t in enumerate(tags_by_index)}
    print(
        f"{len(train)} training sentences, {len(test)} test sentences, "
        f"{len(word_index)} words, {len(tag_index)} tags"
    )

    torch.manual_seed(0)
    rng = random.Random(0)
    model = BiLSTMTagger(len(word_index), 64, 128, len(tag_index))
    criterion = nn.NLLLoss(ignore_index=-100)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    losses = []
    start = time.perf_counter()
    for epoch in range(1, (1 if args.smoke else args.epochs) + 1):
        model.train()
        for tokens, targets, lengths in batches(
            train, word_index, tag_index, args.batch_size, True, rng, word_dropout=0.1
        ):
            optimizer.zero_grad()
            log_probs = model(tokens, lengths)
            loss = criterion(log_probs.reshape(-1, log_probs.shape[-1]), targets.reshape(-1))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        accuracy, f1 = evaluate(model, test, word_index, tag_index, tags_by_index)
        print(
            f"epoch {epoch}: loss {sum(losses[-20:]) / len(losses[-20:]):.4f}, "
            f"token accuracy {100 * accuracy:.2f}%, entity F1 {100 * f1:.2f} "
            f"({time.perf_counter() - start:.1f}s)"
        )
    if args.smoke:
        print(f"smoke: loss {sum(losses[:2]) / 2:.4f} -> {sum(losses[-2:]) / 2:.4f}")


if __name__ == "__main__":
    main()
