"""Character-level RNNs over a made-up "names by language" table, written for glassgrad's
compatibility suite: classify a name's language, or generate a name for a language.

Letters are one-hot tensors of shape (length, 1, n_letters); training pairs are drawn with
random.choice and the weights are updated by hand from their gradients.
"""

import argparse
import random
import string

import torch
import torch.nn as nn

LANGUAGES = {
    "Velmaran": ["Astoveli", "Brunavel", "Corsaveli", "Dumavel", "Estarin", "Folvani"],
    "Quorish": ["Quorrak", "Thrandok", "Grukkor", "Morrath", "Skorrik", "Drabbuk"],
    "Lunese": ["Amiluna", "Selunie", "Oriane", "Lisenne", "Mireau", "Yvaine"],
    "Tazhik": ["Tazhimov", "Berzhat", "Kolzhin", "Vashkir", "Zhurkan", "Dazhev"],
}

parser = argparse.ArgumentParser(description="char RNN over names")
parser.add_argument("--task", choices=["classify", "generate"], default="classify")
parser.add_argument("--iters", type=int, default=300)
parser.add_argument("--print-every", type=int, default=30)
parser.add_argument("--hidden", type=int, default=32)
parser.add_argument("--lr", type=float, default=0.005)
parser.add_argument("--max-length", type=int, default=10)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()

torch.manual_seed(args.seed)
random.seed(args.seed)

all_letters = string.ascii_letters + " .,;'-"
n_letters = len(all_letters) + 1  # + end of name
categories = list(LANGUAGES)
n_categories = len(categories)


def letter_index(letter):
    return all_letters.find(letter)


def line_to_tensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letter_index(letter)] = 1
    return tensor


def random_pair():
    category = random.choice(categories)
    line = random.choice(LANGUAGES[category])
    return category, line


class RNN(nn.Module):
    """Elman RNN written out: the new hidden state and the output both read input ++ hidden."""

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        combined = torch.cat((input, hidden), 1)
        hidden = torch.tanh(self.i2h(combined))
        output = self.softmax(self.i2o(combined))
        return output, hidden

    def init_hidden(self):
        return torch.zeros(1, self.hidden_size)


class Generator(nn.Module):
    """Reads the category, the current letter and the hidden state; predicts the next letter."""

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
        self.o2o = nn.Linear(hidden_size + output_size, output_size)
        self.dropout = nn.Dropout(0.1)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, category, input, hidden):
        input_combined = torch.cat((category, input, hidden), 1)
        hidden = self.i2h(input_combined)
        output = self.i2o(input_combined)
        output_combined = torch.cat((hidden, output), 1)
        output = self.o2o(output_combined)
        output = self.dropout(output)
        output = self.softmax(output)
        return output, hidden

    def init_hidden(self):
        return torch.zeros(1, self.hidden_size)


criterion = nn.NLLLoss()


def category_from_output(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return categories[category_i], category_i


def train_classify():
    rnn = RNN(n_letters, args.hidden, n_categories)
    current_loss = 0.0
    correct = 0
    for it in range(1, args.iters + 1):
        category, line = random_pair()
        category_tensor = torch.tensor([categories.index(category)], dtype=torch.long)
        line_tensor = line_to_tensor(line)
        hidden = rnn.init_hidden()
        rnn.zero_grad()
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        loss = criterion(output, category_tensor)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-args.lr)
        current_loss += loss.item()
        guess, _ = category_from_output(output)
        correct += guess == category
        if it % args.print_every == 0:
            print(f"iter {it} loss {current_loss / args.print_every:.6f} "
                  f"({line} -> {guess}, correct {correct})")
            current_loss = 0.0

    # a confusion matrix over every name
    confusion = torch.zeros(n_categories, n_categories)
    with torch.no_grad():
        for category in categories:
            for line in LANGUAGES[category]:
                hidden = rnn.init_hidden()
                line_tensor = line_to_tensor(line)
                for i in range(line_tensor.size(0)):
                    output, hidden = rnn(line_tensor[i], hidden)
                _, guess_i = category_from_output(output)
                confusion[categories.index(category)][guess_i] += 1
    for i in range(n_categories):
        confusion[i] = confusion[i] / confusion[i].sum()
    print("confusion diagonal", " ".join(f"{v:.3f}" for v in confusion.diag().tolist()))
    name = "Brazhik"
    with torch.no_grad():
        hidden = rnn.init_hidden()
        line_tensor = line_to_tensor(name)
        for i in range(line_tensor.size(0)):
            output, hidden = rnn(line_tensor[i], hidden)
        topv, topi = output.topk(3, 1, True)
    for value, index in zip(topv[0].tolist(), topi[0].tolist()):
        print(f"{name}: ({value:.4f}) {categories[index]}")


def category_tensor_for(category):
    tensor = torch.zeros(1, n_categories)
    tensor[0][categories.index(category)] = 1
    return tensor


def target_tensor(line):
    letter_indexes = [all_letters.find(line[li]) for li in range(1, len(line))]
    letter_indexes.append(n_letters - 1)  # EOS
    return torch.LongTensor(letter_indexes)


def train_generate():
    rnn = Generator(n_letters, args.hidden, n_letters)
    total = 0.0
    for it in range(1, args.iters + 1):
        category, line = random_pair()
        category_tensor = category_tensor_for(category)
        input_line_tensor = line_to_tensor(line)
        target_line_tensor = target_tensor(line)
        target_line_tensor.unsqueeze_(-1)
        hidden = rnn.init_hidden()
        rnn.zero_grad()
        loss = torch.Tensor([0])
        for i in range(input_line_tensor.size(0)):
            output, hidden = rnn(category_tensor, input_line_tensor[i], hidden)
            l = criterion(output, target_line_tensor[i])
            loss += l
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-args.lr)
        total += loss.item() / input_line_tensor.size(0)
        if it % args.print_every == 0:
            print(f"iter {it} loss {total / args.print_every:.6f}")
            total = 0.0

    rnn.eval()

    def sample(category, start_letter):
        with torch.no_grad():
            category_tensor = category_tensor_for(category)
            input = line_to_tensor(start_letter)
            hidden = rnn.init_hidden()
            output_name = start_letter
            for i in range(args.max_length):
                output, hidden = rnn(category_tensor, input[0], hidden)
                topv, topi = output.topk(1)
                topi = topi[0][0]
                if topi == n_letters - 1:
                    break
                letter = all_letters[topi]
                output_name += letter
                input = line_to_tensor(letter)
            return output_name

    for category in categories:
        print(category, " ".join(sample(category, s) for s in "ABT"))


if args.task == "classify":
    train_classify()
else:
    train_generate()
